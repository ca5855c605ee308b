"""The per-device memory plan (probe/device_plan.py) against DeepSpeed's own ZeRO estimators.

Three setups are probed for real (the models built on the meta device by the probe's worker in .venv):
a Llama-2-7B-shaped policy with a 7B value model, the tiny Llama pair the end-to-end tests train, and a
7B policy with a BERT-base value model. The trained engine's model states per GPU (policy + value, as
TRL's PolicyAndValueWrapper trains them) must agree within 5 % with DeepSpeed 0.19.8's
`estimate_zero2_model_states_mem_needs` / `estimate_zero3_model_states_mem_needs`, run in .venv's
interpreter with DeepSpeed from .venv-deepspeed-site (scripts/setup --test), at several world sizes,
stages and offload settings. The parameter counts the plan uses are DeepSpeed's own
(stage3.model_to_params: the total and the largest module's own), checked on CPU-initialised tiny models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor.api import check_file
from ppodoctor.probe import ProbeOptions, probe_file_setup
from ppodoctor.probe.device_plan import Distribution, Workload, cheapest_fit, device_plan

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models"
DEEPSPEED = ROOT / ".venv-deepspeed-site"

SCRIPT = '''
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("{tok}")
'''
CALL = '''
policy_{n} = AutoModelForCausalLM.from_pretrained("{policy}", torch_dtype=torch.bfloat16)
ref_{n} = AutoModelForCausalLM.from_pretrained("{policy}", torch_dtype=torch.bfloat16)
reward_{n} = AutoModelForSequenceClassification.from_pretrained("{value}", num_labels=1, torch_dtype=torch.bfloat16)
value_{n} = AutoModelForSequenceClassification.from_pretrained("{value}", num_labels=1, torch_dtype=torch.bfloat16)
trainer_{n} = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tokenizer, model=policy_{n},
                         ref_model=ref_{n}, reward_model=reward_{n}, value_model=value_{n}, train_dataset=None)
'''
SHAPES = (("7B + 7B", "llama-7b", "llama-7b"), ("tiny Llama pair", "llama-causal", "llama-rm"),
          ("7B + BERT-base", "llama-7b", "bert-rm"))
SETTINGS = [  # (world size, nodes, stage, offload optimizer, offload parameters)
    (1, 1, 2, False, False), (8, 1, 2, False, False), (16, 2, 2, False, False), (8, 1, 2, True, False),
    (1, 1, 3, False, False), (8, 1, 3, False, False), (16, 2, 3, False, False), (8, 1, 3, True, False),
    (8, 1, 3, True, True),
]

ESTIMATE = """
import json, sys
from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs
from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
out = []
for params, largest, world, nodes, stage, optimizer, parameters in json.loads(sys.stdin.read()):
    per_node = world // nodes
    if stage == 2:
        out.append(estimate_zero2_model_states_mem_needs(params, per_node, nodes, cpu_offload=optimizer)[1])
    else:
        out.append(estimate_zero3_model_states_mem_needs(params, largest, per_node, nodes, cpu_offload=optimizer,
                                                         cpu_offload_params=parameters)[1])
print(json.dumps(out))
"""

COUNT = """
import json, sys, torch
from deepspeed.runtime.zero.stage3 import model_to_params
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification
out = {}
for name, cls in (("llama-causal", AutoModelForCausalLM), ("llama-rm", AutoModelForSequenceClassification)):
    model = cls.from_config(AutoConfig.from_pretrained(sys.argv[1] + "/" + name))
    out[name] = list(model_to_params(model))  # (total, the largest module's own), ZeRO-3's way
print(json.dumps(out))
"""


def _deepspeed(code: str, stdin: str = "", *args: str) -> object:
    if not (DEEPSPEED / "deepspeed").is_dir():
        pytest.skip("DeepSpeed is not installed (bash scripts/setup --test builds .venv-deepspeed-site)")
    env = dict(os.environ, PYTHONPATH=str(DEEPSPEED), DS_ACCELERATOR="cpu", HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    script = tmp_path_factory.mktemp("plan") / "train.py"
    script.write_text(SCRIPT.format(tok=MODELS / "tok-pad") + "".join(
        CALL.format(n=n, policy=MODELS / policy, value=MODELS / value) for n, (_, policy, value) in enumerate(SHAPES)))
    result = probe_file_setup(check_file(script).setup, ProbeOptions(python=sys.executable))
    assert result.ok, result.reason
    return result


def _trained(plan) -> int:
    return sum(role.on_device for role in plan.roles if role.trained and not role.shared_with)


def test_model_states_agree_with_deepspeeds_estimators(probed):
    cases, ours = [], []
    for index in range(len(SHAPES)):
        facts = probed.facts.setup(index)
        policy, value = facts.model("policy"), facts.model("value")
        params = policy.params + value.params
        largest = max(policy.largest_layer, value.largest_layer)
        assert params > 0 and largest > 0
        for world, nodes, stage, optimizer, parameters in SETTINGS:
            cases.append([params, largest, world, nodes, stage, optimizer, parameters])
            plan = device_plan(facts, Distribution(world, nodes, stage, optimizer, parameters))
            ours.append(_trained(plan))
    theirs = _deepspeed(ESTIMATE, json.dumps(cases))
    for case, mine, estimate in zip(cases, ours, theirs):
        assert abs(mine - estimate) <= 0.05 * estimate, (case, mine, estimate)
    # Not a tautology of one formula: the stages and offloading move the figure by large factors.
    assert len(set(theirs)) > len(SETTINGS)


def test_the_plan_counts_parameters_as_deepspeed_does(probed):
    counted = _deepspeed(COUNT, "", str(MODELS))
    tiny = probed.facts.setup(1)
    assert [tiny.model("policy").params, tiny.model("policy").largest_layer] == counted["llama-causal"]
    assert [tiny.model("value").params, tiny.model("value").largest_layer] == counted["llama-rm"]


def test_a_7b_ppo_run_per_gpu_and_the_cheapest_change_that_fits(probed):
    facts = probed.facts.setup(0)
    workload = Workload(rollout_batch=16, train_batch=4, query_length=512, response_length=256)
    single = device_plan(facts, Distribution(8), workload)  # plain DDP, bf16 weights: ~4 x 2 bytes a parameter
    assert single.model_states > 8 * 6.7e9 * 2  # the two trained 7B models alone hold > 100 GB a GPU
    zero3 = device_plan(facts, Distribution(8, 1, 3), workload)
    assert zero3.model_states < single.model_states / 3
    assert single.logits == 16 * 256 * 32000 * 4  # batch x response x vocabulary in fp32
    assert single.kv_cache == 2 * 32 * 16 * (512 + 256) * 32 * 128 * 2
    checkpointed = device_plan(facts, Distribution(8), Workload(16, 4, 512, 256, gradient_checkpointing=True))
    assert checkpointed.activations < single.activations / 10
    gpu = 80 * 1024 ** 3

    def plan_for(distribution, work):
        return device_plan(facts, distribution, work)

    assert single.peak > gpu
    assert cheapest_fit(plan_for, Distribution(8), workload, gpu) == "DeepSpeed ZeRO-3"
    assert cheapest_fit(plan_for, Distribution(8, 1, 3), workload, gpu) is None
    tiny = probed.facts.setup(1)
    assert cheapest_fit(lambda d, w: device_plan(tiny, d, w), Distribution(1), Workload(), gpu) is None


def test_probe_prints_the_per_gpu_plan_of_a_launch_and_refuses_a_bad_size(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tok=MODELS / "tok-pad") + CALL.format(
        n=0, policy=MODELS / "llama-7b", value=MODELS / "llama-7b").replace(
        'PPOConfig(output_dir="out")', 'PPOConfig(output_dir="out", local_rollout_forward_batch_size=16, '
                                       'per_device_train_batch_size=4, response_length=256)'))
    command = [sys.executable, "-m", "ppodoctor", "probe", str(script), "--output-format", "json",
               "--world-size", "8", "--zero-stage", "2", "--gpu-memory", "80GiB"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    (plan,) = json.loads(done.stdout)["device_plan"]
    assert plan["distribution"]["zero_stage"] == 2 and plan["workload"]["rollout_batch"] == 16
    assert plan["workload"]["response_length"] == 256 and plan["peak_bytes"] > 80 * 1024 ** 3
    assert plan["fits_after"] == "DeepSpeed ZeRO-3"
    bad = subprocess.run(command[:-1] + ["eighty"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a memory size: 'eighty'" in bad.stderr

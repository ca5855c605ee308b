"""The launch memory plan's model states per rank (probe/zero.py) against DeepSpeed's own estimators,
run for real from .venv-deepspeed-site (scripts/setup --test), and against the ZeRO paper's shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor.probe.zero import frozen_states, trained_states

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("PPODOCTOR_DEEPSPEED_SITE", ROOT / ".venv-deepspeed-site"))
MODELS = ROOT / "fixtures" / "models"


def _llama_shape(config: dict) -> tuple[int, int]:
    """(parameters, parameters of the largest layer) of a Llama-style config: embeddings, per layer
    attention (grouped keys/values) and the gated MLP, norms, an untied head."""
    hidden, inter, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads", heads)
    head_dim = config.get("head_dim", hidden // heads)
    attention = hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2
    layer = attention + 3 * hidden * inter + 2 * hidden
    embedding = vocab * hidden
    tied = config.get("tie_word_embeddings", False)
    return embedding * (1 if tied else 2) + config["num_hidden_layers"] * layer + hidden, embedding


SHAPES = {
    "llama-2-7b": _llama_shape(json.loads((MODELS / "llama-7b" / "config.json").read_text())),
    "qwen2-1.5b-like": _llama_shape({"hidden_size": 1536, "intermediate_size": 8960, "vocab_size": 151936,
                                     "num_attention_heads": 12, "num_key_value_heads": 2, "num_hidden_layers": 28,
                                     "tie_word_embeddings": True}),
    "llama-70b-like": _llama_shape({"hidden_size": 8192, "intermediate_size": 28672, "vocab_size": 32000,
                                    "num_attention_heads": 64, "num_key_value_heads": 8, "num_hidden_layers": 80}),
}

ESTIMATE = """
import json, sys
from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs
from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
out = []
for params, largest, gpus, nodes, stage, offload_optimizer, offload_param in json.loads(sys.argv[1]):
    if stage == 2:
        _cpu, gpu = estimate_zero2_model_states_mem_needs(params, gpus, nodes, offload_optimizer)
    else:
        _cpu, gpu, _largest = estimate_zero3_model_states_mem_needs(params, largest, gpus, nodes, offload_optimizer,
                                                                   offload_param)
    out.append(gpu)
print(json.dumps(out))
"""

CASES = [(shape, gpus, nodes, stage, offload_optimizer, offload_param)
         for shape in SHAPES for gpus, nodes in ((8, 1), (4, 2), (1, 1))
         for stage, offload_optimizer, offload_param in ((2, False, False), (2, True, False), (3, False, False),
                                                         (3, True, False), (3, True, True))]


@pytest.fixture(scope="module")
def deepspeed_estimates() -> list[int]:
    if not (SITE / "deepspeed").is_dir():
        pytest.skip(f"no DeepSpeed at {SITE} (scripts/setup --test installs it)")
    rows = [[SHAPES[shape][0], SHAPES[shape][1], gpus, nodes, stage, optimizer, param]
            for shape, gpus, nodes, stage, optimizer, param in CASES]
    env = {**os.environ, "PYTHONPATH": str(SITE), "DS_ACCELERATOR": "cpu"}
    done = subprocess.run([sys.executable, "-c", ESTIMATE, json.dumps(rows)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("index", range(len(CASES)), ids=["-".join(map(str, case)) for case in CASES])
def test_device_model_states_match_deepspeeds_estimators(deepspeed_estimates, index):
    shape, gpus, nodes, stage, offload_optimizer, offload_param = CASES[index]
    params, largest = SHAPES[shape]
    ours = trained_states(params, gpus * nodes, stage, offload_optimizer, offload_param, largest).device_bytes
    theirs = deepspeed_estimates[index]
    assert abs(ours - theirs) <= 0.05 * theirs, (ours, theirs)


def test_the_shapes_are_the_models_they_name():
    assert 6.7e9 < SHAPES["llama-2-7b"][0] < 6.8e9  # Llama-2-7B: 6.74 B parameters
    assert 1.5e9 < SHAPES["qwen2-1.5b-like"][0] < 1.6e9
    assert 6.8e10 < SHAPES["llama-70b-like"][0] < 7.0e10  # Llama-2-70B: 68.98 B


def test_stages_divide_what_the_paper_says_they_divide():
    params, world = 1_000_000, 8
    # per parameter: 16-bit weight 2, gradient 2, fp32 weight + moments + gradient 16 (K = 12 + 4)
    assert trained_states(params, world, 0).device_bytes == 20 * params
    assert trained_states(params, world, 1).device_bytes == 4 * params + 16 * params // world
    assert trained_states(params, world, 2).device_bytes == 2 * params + 18 * params // world
    assert trained_states(params, world, 3, largest_layer=1000).device_bytes == 18 * params // world + 4000
    # one rank: the stages hold the same (nothing to partition across)
    assert {trained_states(params, 1, stage).device_bytes for stage in (0, 1, 2)} == {20 * params}
    assert trained_states(params, world, 1, offload_optimizer=True).host_bytes == 16 * params // world
    assert frozen_states(params, world, 2).device_bytes == 2 * params
    assert frozen_states(params, world, 3).device_bytes == 2 * params // world
    assert frozen_states(params, world, 3, offload_param=True).device_bytes == 0
    with pytest.raises(ValueError):
        trained_states(params, 0, 2)


def test_ppo_with_a_7b_policy_and_critic_on_eight_80gb_gpus():
    """The issue's question: a 7B policy and critic trained, a 7B reference and reward model frozen,
    8 × 80 GB, ZeRO-2 vs ZeRO-3: model states per GPU, before activations."""
    params, largest = SHAPES["llama-2-7b"]

    def per_gpu(stage: int) -> float:
        trained = 2 * trained_states(params, 8, stage, largest_layer=largest).device_bytes
        frozen = 2 * frozen_states(params, 8, stage).device_bytes
        return trained + frozen

    # ZeRO-2: (2 × (2 + 18/8) + 2 × 2) bytes × 6.74 B ≈ 84 GB of model states: more than the 80 GB device
    assert 80e9 < per_gpu(2) < 90e9
    # ZeRO-3: (2 × 18/8 + 2 × 2/8) bytes × 6.74 B + two gathered layers ≈ 35 GB: room for activations
    assert 30e9 < per_gpu(3) < 40e9


def test_probe_of_a_launcher_prints_the_plan_per_gpu(tmp_path):
    """`ppodoctor probe run.sh`: the models built on the meta device from fixtures/models/llama-7b's
    config, their states per GPU at the launch's 8 ranks and ZeRO-3 with optimizer offload."""
    from click.testing import CliRunner

    from ppodoctor.cli import main
    from ppodoctor.probe.memory import human_bytes

    (tmp_path / "ds_z3.json").write_text(json.dumps({"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {
        "stage": 3, "offload_optimizer": {"device": "cpu"}}}))
    (tmp_path / "z3.yaml").write_text("distributed_type: DEEPSPEED\ndeepspeed_config:\n  deepspeed_config_file: "
                                      "ds_z3.json\nmixed_precision: bf16\nnum_processes: 8\n")
    (tmp_path / "train.py").write_text(f"""
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, HfArgumentParser
from trl.experimental.ppo import PPOConfig, PPOTrainer

(config,) = HfArgumentParser(PPOConfig).parse_args_into_dataclasses()
tokenizer = AutoTokenizer.from_pretrained("{MODELS}/tok-pad")
policy = AutoModelForCausalLM.from_pretrained("{MODELS}/llama-7b")
ref_policy = AutoModelForCausalLM.from_pretrained("{MODELS}/llama-7b")
reward = AutoModelForSequenceClassification.from_pretrained("{MODELS}/llama-rm", num_labels=1)
value = AutoModelForSequenceClassification.from_pretrained("{MODELS}/llama-rm", num_labels=1)
trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                     reward_model=reward, value_model=value, train_dataset=dataset)
""")
    (tmp_path / "run.sh").write_text("accelerate launch --config_file z3.yaml train.py --output_dir out\n")
    result = CliRunner().invoke(main, ["probe", str(tmp_path / "run.sh")], catch_exceptions=False)
    text = result.output
    assert "per GPU at world size 8, ZeRO-3 (optimizer offloaded)" in text, text[-3000:]
    params, largest = SHAPES["llama-2-7b"]
    # The value model is the tiny llama-rm: the trained engine's states are the policy's, to the 0.01 GiB.
    policy = trained_states(params, 8, 3, offload_optimizer=True, largest_layer=largest)
    reference = frozen_states(params, 8, 3)
    lines = [line.split() for line in text.splitlines() if line.strip().startswith(("policy", "reference"))]
    assert ["policy", "6.74B", *human_bytes(policy.device_bytes).split(), "trained,",
            *human_bytes(policy.host_bytes).split(), "on", "the", "CPU"] in lines, lines
    assert ["reference", "6.74B", *human_bytes(reference.device_bytes).split(), "frozen"] in lines, lines

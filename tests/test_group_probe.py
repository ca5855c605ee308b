"""The probe on RLOOTrainer / GRPOTrainer setups, in trl 1.16's interpreter (probe/worker_group.py and
worker_rewards.py): each check runs TRL's own code (the config's __post_init__, _calculate_rewards, __init__'s
reward_processing_classes statements, vLLM's check) and fails with TRL's own error where the script would;
the rules' verdicts follow from it, a refutation included. Models are the fixture configs on the meta device.

All scripts are probed in one worker run.
"""

from __future__ import annotations

import pytest

from ppodoctor.api import check_source
from ppodoctor.pipeline.verdicts import annotate, confirm_fixes
from ppodoctor.probe import ProbeOptions, probe_files
from ppodoctor.probe.probe_checks import Built, Check, Status
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import CONFIRMED, REFUTED
from probe_helpers import MODELS

FUNCTION = "def length_reward(completions, **kwargs):\n    return [float(len(c)) for c in completions]\n"

SCORER = ("class Scorer:\n    def __init__(self, target):\n        self.target = target\n"
          "    def __call__(self, completions):\n        return [-abs(self.target - len(c)) for c in completions]\n")


def group_script(config: str = "num_generations=2", function: str = FUNCTION, reward_funcs: str = "[length_reward, RM]",
                 extra: str = "", rows: str = '{"prompt": ["a b", "c d"], "answer": ["x", "y"]}',
                 trainer: str = "GRPO", dataset: str = "") -> str:
    return (
        "from datasets import Dataset, load_dataset\n"
        "from transformers import AutoTokenizer\n"
        f"from trl import {trainer}Config, {trainer}Trainer\n"
        f'RM = "{MODELS / "llama-rm"}"\n'
        f'tok = AutoTokenizer.from_pretrained("{MODELS / "tok-pad"}")\n'
        f"{function}"
        f'config = {trainer}Config(output_dir="out", per_device_train_batch_size=2, use_cpu=True, {config})\n'
        f'trainer = {trainer}Trainer(model="{MODELS / "llama-causal"}", reward_funcs={reward_funcs}, args=config,\n'
        f"    train_dataset={dataset or f'Dataset.from_dict({rows})'}, processing_class=tok{extra})\n"
    )


SCRIPTS = {
    "healthy": group_script(),
    "healthy_rloo": group_script(trainer="RLOO"),
    "indivisible": group_script("num_generations=3"),
    "one_generation": group_script("num_generations=1"),
    "ppo_field": group_script("num_generations=2, kl_coef=0.05"),
    "ppo_field_and_indivisible": group_script("num_generations=3, kl_coef=0.05"),
    "vllm": group_script("num_generations=2, use_vllm=True"),
    "no_kwargs": group_script(function="def length_reward(completions):\n    return [0.0 for c in completions]\n"),
    "missing_column": group_script(function="def length_reward(completions, label, **kwargs):\n    return [0.0]\n"),
    "column_given": group_script(function="def length_reward(completions, answer, **kwargs):\n"
                                          "    return [float(c == a) for c, a in zip(completions, answer)]\n"),
    # `prompts` positional-only: TRL passes it by keyword, into **kwargs, and the parameter stays unfilled
    "positional_only": group_script(function="def length_reward(prompts, /, completions, **kwargs):\n"
                                             "    return [0.0 for c in completions]\n"),
    "returns_number": group_script(function="def length_reward(completions, **kwargs):\n    return 1.0\n"),
    "hidden_columns": group_script(function="def length_reward(prompts, completions, completion_ids, trainer_state, "
                                            "log_extra, log_metric):\n    return [0.0 for c in completions]\n",
                                   dataset='load_dataset("json", data_files="rows.jsonl", split="train")'),
    "count_mismatch": group_script(extra=", reward_processing_classes=tok"),
    "count_mismatch_rloo": group_script(trainer="RLOO", extra=", reward_processing_classes=[None, None, tok]"),
    "count_paired": group_script(extra=", reward_processing_classes=[None, tok]"),
    # an object of the file's class, called through `__call__`: judged as the bound method, never built as a model
    "callable_object": group_script(function=SCORER, reward_funcs="[Scorer(4), RM]"),
    "callable_object_ok": group_script(function=SCORER.replace("completions):", "completions, **kwargs):"),
                                       reward_funcs="[Scorer(4), RM]"),
    "two_labels": group_script(reward_funcs=f'[length_reward, "{MODELS / "llama-rm-2labels"}"]'),
}


@pytest.fixture(scope="module")
def options(python116, tmp_path_factory) -> ProbeOptions:
    return ProbeOptions(python=python116, cwd=str(tmp_path_factory.mktemp("cwd")))


@pytest.fixture(scope="module")
def probed(options):
    reports = {name: check_source(text, f"{name}.py", target=Target.of("1.16.0")) for name, text in SCRIPTS.items()}
    results = probe_files([reports[name].setup for name in SCRIPTS], options)
    return {name: (reports[name], result) for name, result in zip(SCRIPTS, results)}


def group_facts(probed, name: str):
    report, result = probed[name]
    assert result.ok, result.reason
    assert not report.setup.setups and len(report.setup.group_setups) == 1
    return result.setup_facts(0)


def status(probed, name: str, check: Check):
    return group_facts(probed, name).check(check)


def test_healthy_setups_pass_every_step(probed):
    for name in ("healthy", "healthy_rloo", "column_given", "count_paired", "callable_object_ok"):
        facts = group_facts(probed, name)
        for check in (Check.SIGNATURE, Check.CONFIG, Check.VLLM, Check.GENERATION_CONFIG, Check.REWARD_MODELS,
                      Check.REWARD_CALL, Check.REWARD_PROCESSING_CLASSES):
            assert facts.check(check).status is Status.PASS, (name, check, facts.check(check))
        assert facts.model("policy").built and facts.model("policy").class_name.endswith("ForCausalLM")
        assert facts.trl_module.startswith("trl.")


@pytest.mark.parametrize("name, check, error", [
    ("indivisible", Check.CONFIG, "ValueError: generation_batch_size (2) must be divisible by num_generations (3)."),
    ("one_generation", Check.CONFIG, "ValueError: GRPO requires at least 2 generations per prompt"),
    ("ppo_field", Check.CONFIG, "TypeError: GRPOConfig.__init__() got an unexpected keyword argument 'kl_coef'"),
    ("vllm", Check.VLLM, "ImportError: vLLM is not available and `use_vllm` is set to True."),
    ("no_kwargs", Check.REWARD_CALL, "TypeError: length_reward() got an unexpected keyword argument 'prompts'"),
    ("missing_column", Check.REWARD_CALL, "TypeError: length_reward() missing 1 required positional argument: 'label'"),
    ("positional_only", Check.REWARD_CALL, "TypeError: length_reward() missing 1 required positional argument: "
                                           "'prompts'"),
    ("returns_number", Check.REWARD_CALL, "TypeError: 'float' object is not iterable"),
    ("callable_object", Check.REWARD_CALL, "TypeError: Scorer.__call__() got an unexpected keyword argument 'prompts'"),
    ("count_mismatch", Check.REWARD_PROCESSING_CLASSES, "ValueError: The number of reward processing classes (1) must "
                                                        "match the number of reward functions (2)."),
    ("count_mismatch_rloo", Check.REWARD_PROCESSING_CLASSES, "ValueError: The number of reward processing classes (3) "
                                                             "must match the number of reward functions (2)."),
])
def test_each_step_fails_with_trls_own_error(probed, name, check, error):
    result = status(probed, name, check)
    assert result.status is Status.FAIL and result.error.startswith(error), result


def test_a_config_with_an_unknown_field_is_also_judged_without_it(probed):
    """The TypeError comes before __post_init__: its checks are run again without the field (`rest`)."""
    clean = status(probed, "ppo_field", Check.CONFIG)
    assert clean.detail("unexpected") == ["kl_coef"] and clean.details["rest"]["status"] == Status.PASS
    both = status(probed, "ppo_field_and_indivisible", Check.CONFIG)
    assert both.error.startswith("TypeError") and "divisible by num_generations (3)" in both.details["rest"]["error"]


def test_what_the_probe_cannot_see_is_unchecked_never_passed(probed):
    """A dataset read from a file: its columns are unknown, and a function without **kwargs may meet one."""
    hidden = status(probed, "hidden_columns", Check.REWARD_CALL)
    assert hidden.status is Status.UNCHECKED and "columns are not visible" in hidden.reason


def test_reward_models_are_built_as_trl_loads_a_path(probed):
    facts = group_facts(probed, "two_labels")
    assert status(probed, "two_labels", Check.REWARD_MODELS).status is Status.PASS
    built = facts.model("reward_funcs[1]")
    assert built.status is Built.BUILT and built.class_name.endswith("ForSequenceClassification")
    # TRL loads a path with num_labels=1, which overrides the saved config's two labels (as the probe's build does)
    assert built.head_width == 1 and built.source.endswith("llama-rm-2labels")


def test_the_rules_findings_reproduce_from_the_probe(probed):
    expected = {"indivisible": "PPD601", "one_generation": "PPD602", "ppo_field": "PPD606", "no_kwargs": "PPD603",
                "returns_number": "PPD603", "count_mismatch": "PPD608", "ppo_field_and_indivisible": "PPD601"}
    for name, code in expected.items():
        report, result = probed[name]
        found = [d for d in annotate(report.diagnostics, result) if d.code == code]
        assert found and all(d.probe == CONFIRMED for d in found), (name, [(d.code, d.probe_detail) for d in found])


def test_a_fix_that_leaves_the_config_invalid_is_refuted(options):
    """PPD601's fix (num_generations=2) beside a PPO field with no counterpart: the fixed config still raises."""
    before = check_source(group_script("num_generations=3, vf_coef=0.1"), "before.py", target=Target.of("1.16.0"))
    after = check_source(group_script("num_generations=2, vf_coef=0.1"), "after.py", target=Target.of("1.16.0"))
    finding = [d for d in before.diagnostics if d.code == "PPD601"]
    verdict = confirm_fixes(before.setup, after.setup, finding, options)[0]
    assert verdict.status == REFUTED, verdict
    assert "GRPOConfig.__init__() got an unexpected keyword argument 'vf_coef'" in verdict.detail
    cured = check_source(group_script("num_generations=2"), "cured.py", target=Target.of("1.16.0"))
    assert confirm_fixes(before.setup, cured.setup, finding, options)[0].status == CONFIRMED


def test_the_users_reward_function_never_runs(options, tmp_path):
    marker = tmp_path / "ran"
    function = f"def length_reward(completions, **kwargs):\n    open({str(marker)!r}, 'w').write('ran')\n" \
               "    return [0.0 for c in completions]\n"
    report = check_source(group_script(function=function), "train.py", target=Target.of("1.16.0"))
    result = probe_files([report.setup], options)[0]
    assert result.setup_facts(0).check(Check.REWARD_CALL).status is Status.PASS
    assert not marker.exists()

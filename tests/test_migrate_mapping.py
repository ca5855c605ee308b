"""The port's table against the real libraries: every PPOConfig field has a fate, every new field exists.

successors.json is checked against the installed TRL (1.12 in .venv: RLOOTrainer/GRPOTrainer exist there
too) and, in a subprocess, against trl 1.16.0 in .venv-trl116.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import warnings

import pytest

from migrate_helpers import trl116_python
from probe_helpers import trl012_python
from ppodoctor.migrate import mapping
from ppodoctor.trl_api import table
from ppodoctor.trl_api.eras import Version

V116 = Version("1.16.0")
# Fields the new configs have from TrainingArguments (not listed in successors.json's TRL fields).
TRAINING_ARGUMENTS_TARGETS = {"max_steps", "report_to", "run_name", "per_device_train_batch_size",
                              "num_train_epochs"}


def test_every_ppo_config_field_of_every_release_has_a_rule():
    for version in table.known_versions():
        if not table.has_ppo(version):
            continue
        family = mapping.OLD_FAMILY if version < Version("0.12.0") else mapping.NEW_FAMILY
        fields = set(table.facts(version)["config_fields"])
        missing = sorted(f for f in fields if mapping.rule_for(f, family) is None
                         and f not in table.load()["training_arguments_overlap"])
        assert not missing, f"trl {version}: no rule for {missing}"


@pytest.mark.parametrize("target", ["rloo", "grpo"])
def test_every_field_a_rule_writes_exists_in_the_new_config(target):
    trainer = mapping.TRAINERS[target][0]
    fields = set(table.successor_config_fields(trainer, V116)) | TRAINING_ARGUMENTS_TARGETS | \
        set(mapping.TRAINING_ARGUMENTS_DEFAULTS)
    for rules in mapping.RULES.values():
        for rule in rules.values():
            if target in rule.only and rule.action in (mapping.Action.RENAME, mapping.Action.COMPUTE) and rule.new:
                assert rule.new in fields, (rule.field, rule.new)
    for new in mapping.LOOP_GENERATION.values():
        assert new in fields


def test_the_trl_docs_migration_pairs_are_in_the_table():
    """docs/source/rloo_trainer.md, "Migration Guide from the old implementation" (TRL ≥ 0.22)."""
    pairs = {"kl_coef": "beta", "cliprange": "epsilon", "num_ppo_epochs": "num_iterations",
             "response_length": "max_completion_length", "num_mini_batches": "steps_per_generation",
             "total_episodes": "max_steps"}
    for old, new in pairs.items():
        assert mapping.rule_for(old, mapping.NEW_FAMILY).new == new
    for removed in ("stop_token", "stop_token_id", "missing_eos_penalty", "num_sample_generations",
                    "local_rollout_forward_batch_size", "dataset_num_proc"):
        assert mapping.rule_for(removed, mapping.NEW_FAMILY).action in (mapping.Action.DROP, mapping.Action.COMPUTE)


def test_training_arguments_defaults_are_transformers_own():
    """As transformers 4.46 (PPO 0.12's) has them; transformers 5 leaves gradient_checkpointing None (off)."""
    from transformers import TrainingArguments

    fields = {f.name: f.default for f in dataclasses.fields(TrainingArguments)}
    for name, value in mapping.TRAINING_ARGUMENTS_DEFAULTS.items():
        assert fields[name] == value or (value is False and fields[name] is None), name
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter")
    code = ("import dataclasses, json, transformers\n"
            "print(json.dumps({f.name: f.default for f in dataclasses.fields(transformers.TrainingArguments) "
            f"if f.name in {sorted(mapping.TRAINING_ARGUMENTS_DEFAULTS)!r}}}))")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == mapping.TRAINING_ARGUMENTS_DEFAULTS


def _installed(trainer: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import trl

        return getattr(trl, trainer), getattr(trl, trainer.replace("Trainer", "Config"))


def _facts(trainer_class, config_class) -> dict:
    parameters = list(inspect.signature(trainer_class.__init__).parameters.values())[1:]
    defaults = {f.name: f.default for f in dataclasses.fields(config_class)
                if f.default is not dataclasses.MISSING}
    return {"params": [[p.name, p.default is inspect.Parameter.empty] for p in parameters], "defaults": defaults}


def _compare(found: dict, trainer: str, version: Version) -> None:
    entry = table.successor(trainer, version)
    assert [[p["name"], p["required"]] for p in entry["params"]] == found["params"]
    for name, info in entry["config_fields"].items():
        if "default" in info and name in found["defaults"]:
            assert found["defaults"][name] == info["default"] or \
                (isinstance(info["default"], list) and list(found["defaults"][name]) == info["default"]), name


@pytest.mark.parametrize("trainer", ["RLOOTrainer", "GRPOTrainer"])
def test_successors_match_the_installed_trl(trainer):
    import importlib.metadata

    version = Version.parse(importlib.metadata.version("trl"))
    try:
        classes = _installed(trainer)
    except (ImportError, RuntimeError) as error:  # trl 1.12's GRPO needs `requests`, which .venv may lack
        pytest.skip(f"this interpreter cannot import trl.{trainer}: {error}".splitlines()[0])
    _compare(_facts(*classes), trainer, version)


_REMOTE = """
import dataclasses, inspect, json, warnings
warnings.simplefilter("ignore")
import trl
out = {}
for name in ("RLOOTrainer", "GRPOTrainer"):
    t, c = getattr(trl, name), getattr(trl, name.replace("Trainer", "Config"))
    ps = list(inspect.signature(t.__init__).parameters.values())[1:]
    d = {}
    for f in dataclasses.fields(c):
        if f.default is not dataclasses.MISSING:
            try:
                json.dumps(f.default); d[f.name] = f.default
            except TypeError:
                pass
    out[name] = {"params": [[p.name, p.default is inspect.Parameter.empty] for p in ps], "defaults": d}
print(json.dumps({"version": trl.__version__, "facts": out}))
"""


def test_successors_match_trl_116():
    python = trl116_python()
    if python is None:
        pytest.skip("no trl 1.16 interpreter (.venv-trl116; scripts/setup makes it)")
    done = subprocess.run([python, "-c", _REMOTE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["version"] == "1.16.0"
    for trainer, found in answer["facts"].items():
        _compare(found, trainer, V116)


def test_successor_versions_and_defaults():
    assert table.first_successor_version("RLOOTrainer") == Version("0.24.0")  # the reward_funcs RLOO (0.22+)
    assert table.successor("RLOOTrainer", Version("0.18.0")) is None
    fields = table.successor_config_fields("GRPOTrainer", V116)
    assert fields["beta"] == {"default": 0.0} and fields["num_generations"] == {"default": 8}
    assert table.successor_config_fields("RLOOTrainer", V116)["beta"] == {"default": 0.05}
    assert table.ppo_config_defaults(Version("1.12.0"))["response_length"] == 53
    assert table.ppo_config_defaults(Version("0.11.4"))["init_kl_coef"] == 0.2

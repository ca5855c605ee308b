"""PPOConfigs made in shapes other than a `PPOConfig(...)` call: the script's own dataclass subclass of
PPOConfig (its extra fields its own), and `dataclasses.replace(base, **changes)` of a config. Each has a
script that must fire and one that must not; the styles' real runs are in fixtures/styles
(config_subclass, config_replace)."""

from __future__ import annotations

from eras_helpers import check, codes, fix_all

HEAD = """\
import dataclasses
from dataclasses import dataclass

from trl.experimental.ppo import PPOConfig, PPOTrainer
"""
TRAINER = """
PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm, value_model=critic,
           train_dataset=ds)
"""
SUBCLASS = HEAD + """

@dataclass
class RunConfig(BASE):
    policy_path: str = "models/policy"
    FIELDS

config = RunConfig(output_dir="out", KEYWORDS)
""" + TRAINER


def subclass(keywords: str, base: str = "PPOConfig", fields: str = "prompts: int = 4") -> str:
    return SUBCLASS.replace("BASE", base).replace("FIELDS", fields).replace("KEYWORDS", keywords)


def found(text: str, rules=("PPD205", "PPD211", "PPD401")) -> list[str]:
    return codes(text, "1.12.0", rules)


def test_a_subclass_of_ppoconfig_is_judged_as_ppoconfig():
    assert found(subclass("ppo_epochs=1")) == ["PPD205"]
    message = check(subclass("ppo_epochs=1"), "1.12.0", ("PPD205",))[0].message
    assert "RunConfig.__init__() got an unexpected keyword argument 'ppo_epochs'" in message
    assert found(subclass("num_ppo_epochs=1, policy_path='p'")) == []
    # Other config rules read it too: 4 prompts a step do not split into 3 mini-batches.
    assert found(subclass("per_device_train_batch_size=4, num_mini_batches=3")) == ["PPD401"]


def test_a_subclass_field_is_its_own():
    # A field the subclass declares takes the keyword, old name or not.
    assert found(subclass("ppo_epochs=1", fields="ppo_epochs: int = 4")) == []
    # Its own default of a PPOConfig field is not TRL's: nothing is assumed about it.
    assert found(subclass("per_device_train_batch_size=4", fields="num_mini_batches: int = 3")) == []
    assert found(subclass("per_device_train_batch_size=4, num_mini_batches=3", fields="num_mini_batches: int = 1")) \
        == ["PPD401"]


def test_a_dataclass_that_is_not_a_ppoconfig_is_not_judged():
    text = subclass("ppo_epochs=1", base="object")
    assert found(text) == []


def test_the_subclass_fix_renames_the_old_field():
    fixed = fix_all(subclass("ppo_epochs=1"), "1.12.0", "PPD205")
    assert 'RunConfig(output_dir="out", num_ppo_epochs=1)' in fixed and found(fixed) == []


REPLACE = HEAD + """
BASE = PPOConfig(output_dir="out", BASE_KEYWORDS)
RUNS = {"smoke": {CHANGES}, "long": {"num_ppo_epochs": 4}}
config = dataclasses.replace(BASE, **RUNS["smoke"])
""" + TRAINER


def replaced(changes: str, base_keywords: str = "num_mini_batches=1") -> str:
    return REPLACE.replace("BASE_KEYWORDS", base_keywords).replace("CHANGES", changes)


def test_a_replaced_config_takes_the_base_fields_and_the_changes():
    assert found(replaced('"ppo_epochs": 1')) == ["PPD205"]
    assert found(replaced('"num_ppo_epochs": 1')) == []
    # The changes win over the base's fields; the base's stay.
    assert found(replaced('"per_device_train_batch_size": 4', base_keywords="num_mini_batches=3")) == ["PPD401"]
    assert found(replaced('"num_mini_batches": 1', base_keywords="per_device_train_batch_size=4, num_mini_batches=3")) \
        == []


def test_a_replace_of_what_cannot_be_seen_stays_unknown():
    text = replaced('"ppo_epochs": 1').replace("dataclasses.replace(BASE,", "dataclasses.replace(load_base(),")
    assert found(text) == []


def test_the_replace_fix_renames_the_key_where_it_is_written():
    fixed = fix_all(replaced('"ppo_epochs": 1'), "1.12.0", "PPD205")
    assert '"smoke": {"num_ppo_epochs": 1}' in fixed and found(fixed) == []


SETATTR = HEAD + """
OVERRIDES = {"learning_rate": 1e-5, "per_device_train_batch_size": BATCH, "num_mini_batches": 2}
config = PPOConfig(output_dir="out", per_device_train_batch_size=2, num_mini_batches=1)
for name, value in OVERRIDES.items():
    setattr(config, name, value)
""" + TRAINER


def test_setattr_in_a_loop_over_overrides_sets_each_field():
    assert found(SETATTR.replace("BATCH", "3")) == ["PPD401"]
    setattr_line = SETATTR.splitlines().index("    setattr(config, name, value)") + 1
    assert check(SETATTR.replace("BATCH", "3"), "1.12.0", ("PPD401",))[0].span.line == setattr_line
    assert found(SETATTR.replace("BATCH", "4")) == []
    # One literal setattr is an assignment too.
    literal = HEAD + 'config = PPOConfig(output_dir="out", per_device_train_batch_size=4)\n' \
        'setattr(config, "num_mini_batches", 3)\n' + TRAINER
    assert found(literal) == ["PPD401"]
    assert found(literal.replace('"num_mini_batches", 3', '"num_mini_batches", 2')) == []


def test_setattr_that_may_not_run_or_names_unseen_fields_hides_them():
    # Under a condition inside the loop, or with a `break`, a pass may not set its field; from an iterable
    # the source does not show, any field may be set: the batch sizes are not known, nothing is said.
    guarded = SETATTR.replace("BATCH", "3").replace("    setattr(", "    if name != 'seed':\n        setattr(")
    broken_off = SETATTR.replace("BATCH", "3").replace("    setattr(config, name, value)",
                                                        "    setattr(config, name, value)\n    if value is None:\n        break")
    unseen = SETATTR.replace("BATCH", "3").replace("OVERRIDES.items()", "read_overrides().items()")
    for text in (guarded, broken_off, unseen):
        assert found(text) == [], text

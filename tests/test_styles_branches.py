"""Writes to a keyword dict under an `if` the call's arguments decide, and conditional expressions whose test
is a comparison of values the source shows: a loader-options function of the role (fixtures/styles/
options_function). A write under a test that surely holds is made, one under a test that surely fails is
not, and one the source cannot decide leaves the key unknown (no finding)."""

from __future__ import annotations

from eras_helpers import codes, fix_all

SCRIPT = """\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

COMMON = {"attn_implementation": "eager"}


def load_options(role):
    options = dict(COMMON)
    if TEST:
        WRITE
    return options


reward = AutoModelForSequenceClassification.from_pretrained("rm", **load_options(REWARD_ROLE))
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=policy, ref_model=ref,
           reward_model=reward, value_model=critic, train_dataset=None)
"""


def script(test: str, write: str, reward_role: str = '"reward"') -> str:
    return SCRIPT.replace("TEST", test).replace("WRITE", write).replace("REWARD_ROLE", reward_role)


def found(text: str) -> list[str]:
    return codes(text, "1.12.0", ("PPD105",))


def test_a_write_under_a_test_the_arguments_make_true_is_made():
    assert found(script('role in ("reward", "value")', 'options["num_labels"] = 2')) == ["PPD105"]
    assert found(script('role == "reward"', 'options.update(num_labels=2)')) == ["PPD105"]
    assert found(script('role != "policy"', 'options.setdefault("num_labels", 2)')) == ["PPD105"]
    assert found(script('role in ("reward", "value")', 'options["num_labels"] = 1')) == []


def test_a_write_under_a_test_the_arguments_make_false_is_not_made():
    # Only the critic's options get two labels; the reward's call never runs that write.
    assert found(script('role == "value"', 'options["num_labels"] = 2')) == []
    else_branch = script('role == "value"', 'options["num_labels"] = 1').replace(
        "    return options", '    else:\n        options["num_labels"] = 2\n    return options')
    assert found(else_branch) == ["PPD105"]
    assert found(else_branch.replace('load_options("reward")', 'load_options("value")')) == []


def test_a_test_the_source_cannot_decide_leaves_the_key_unknown():
    undecided = script('role in ("reward", "value")', 'options["num_labels"] = 2', reward_role="ROLE")
    assert found(undecided.replace("COMMON = {", "import os\nROLE = os.environ['ROLE']\nCOMMON = {")) == []


def test_a_conditional_expression_compares_known_values():
    text = script('role in ("reward", "value")', 'options.update(num_labels=2 if role == "reward" else 1)')
    assert found(text) == ["PPD105"]
    assert found(text.replace('load_options("reward")', 'load_options("value")')) == []
    fixed = fix_all(text, "1.12.0", "PPD105")
    assert "options.update(num_labels=1)" in fixed and found(fixed) == []

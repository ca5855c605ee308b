"""Three more styles of issue 20, about objects and control flow: attributes written on an object after
it is made (`nets = SimpleNamespace(); nets.actor = ...`), a template method (a base class's `__init__`
calling `self.build_models()`, which the instantiated subclass overrides), and a loader dispatching on
its argument with `match` or an `if` chain. Each has cases that must fire and cases that must not."""

from __future__ import annotations

import textwrap

import libcst

from eras_helpers import codes
from ppodoctor.setup.extract import extract
from ppodoctor.types import Role

HEAD = """
from types import SimpleNamespace
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
cfg = PPOConfig(output_dir="out")
"""
RULES = ("PPD101", "PPD103", "PPD104", "PPD106", "PPD108", "PPD109", "PPD201", "PPD207")
CAUSAL = 'AutoModelForCausalLM.from_pretrained("sft")'
SCORED = 'AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)'


def found(body: str) -> list[str]:
    return codes(HEAD + textwrap.dedent(body), "1.12.0", RULES)


def setup_of(body: str):
    (setup,) = extract(libcst.parse_module(HEAD + textwrap.dedent(body)), "t.py").setups
    return setup


def trainer(holder: str = "nets") -> str:
    return (f"trainer = PPOTrainer(args=cfg, processing_class=tok, model={holder}.actor, "
            f"ref_model={holder}.ref, reward_model={holder}.reward, value_model={holder}.critic, train_dataset=None)")


# --- attributes written after the object is made ----------------------------------------------------

NETS = f"""
nets = SimpleNamespace()
nets.actor = {CAUSAL}
nets.reward = {SCORED}
nets.critic = {SCORED}
"""


def test_two_attributes_of_a_namespace_bound_to_one_load_are_one_object():
    assert found(NETS + "nets.ref = nets.actor\n" + trainer()) == ["PPD106"]


def test_two_attributes_of_a_namespace_bound_to_two_loads_are_two_objects():
    body = NETS + f"nets.ref = {CAUSAL}\n" + trainer()
    assert found(body) == []
    setup = setup_of(body)
    assert setup.origin(Role.POLICY).key != setup.origin(Role.REFERENCE).key
    assert setup.origin(Role.REWARD).class_name.endswith("AutoModelForSequenceClassification")


def test_the_last_write_before_the_read_wins():
    assert found(NETS + f"nets.ref = nets.actor\nnets.ref = {CAUSAL}\n" + trainer()) == []
    assert found(NETS + f"nets.ref = {CAUSAL}\nnets.ref = nets.actor\n" + trainer()) == ["PPD106"]


def test_a_write_after_the_read_does_not_count():
    body = NETS + f"nets.ref = {CAUSAL}\n" + trainer() + "\nnets.ref = nets.actor\n"
    assert found(body) == []


def test_a_write_in_a_branch_the_read_is_not_in_leaves_the_attribute_unknown():
    body = NETS + f"nets.ref = {CAUSAL}\nif tok.pad_token:\n    nets.ref = nets.actor\n" + trainer()
    assert found(body) == []
    assert not setup_of(body).origin(Role.REFERENCE).known


def test_a_reward_written_as_a_causal_lm_on_a_namespace_fires_ppd104():
    body = NETS + f"nets.ref = {CAUSAL}\nnets.reward = {CAUSAL}\n" + trainer()
    assert found(body) == ["PPD104"]


def test_attributes_written_on_a_plain_class_instance_in_a_function():
    body = f"""
    class Holder:
        pass

    def main():
        held = Holder()
        held.actor = {CAUSAL}
        held.ref = held.actor
        held.reward = {SCORED}
        held.critic = {SCORED}
        {trainer("held")}

    main()
    """
    assert found(body) == ["PPD106"]
    assert found(body.replace("held.ref = held.actor", f"held.ref = {CAUSAL}")) == []


def test_a_write_on_another_namespace_is_another_objects_attribute():
    body = NETS + f"other = SimpleNamespace()\nother.ref = nets.actor\nnets.ref = {CAUSAL}\n" + trainer()
    assert found(body) == []
    alias = NETS + f"nets.ref = {CAUSAL}\nsame = nets\nsame.ref = nets.actor\n" + trainer()
    assert found(alias) == ["PPD106"]  # an alias of the namespace writes to the namespace itself


# --- a template method: the receiver's class decides -----------------------------------------------

TEMPLATE = """
class Base:
    def __init__(self, root):
        self.root = root
        self.trainer = PPOTrainer(args=cfg, processing_class=tok, train_dataset=None, **self.build_models())

    def build_models(self):
        return dict(model=AutoModelForCausalLM.from_pretrained(self.root), ref_model=AutoModelForCausalLM.from_pretrained(self.root),
                    reward_model={base_reward}, value_model=AutoModelForSequenceClassification.from_pretrained(self.root, num_labels=1))


class Llama(Base):
{override}

Llama("models")
"""
OVERRIDE = """    def build_models(self):
        return dict(model=AutoModelForCausalLM.from_pretrained(self.root), ref_model=AutoModelForCausalLM.from_pretrained(self.root),
                    reward_model={reward}, value_model=AutoModelForSequenceClassification.from_pretrained(self.root, num_labels=1))"""
GOOD = "AutoModelForSequenceClassification.from_pretrained(self.root, num_labels=1)"
BAD = "AutoModelForCausalLM.from_pretrained(self.root)"


def _template(base_reward: str, override: str) -> str:
    return TEMPLATE.format(base_reward=base_reward, override=override)


def test_the_subclass_override_is_what_the_base_init_calls():
    assert found(_template(GOOD, OVERRIDE.format(reward=BAD))) == ["PPD104"]
    assert found(_template(BAD, OVERRIDE.format(reward=GOOD))) == []  # the base's bad reward never runs


def test_a_subclass_that_does_not_override_uses_the_base_method():
    assert found(_template(BAD, "    pass")) == ["PPD104"]
    assert found(_template(GOOD, "    pass")) == []


def test_the_base_class_instantiated_itself_uses_its_own_method():
    body = _template(BAD, OVERRIDE.format(reward=GOOD)).replace('Llama("models")', 'Base("models")')
    assert found(body) == ["PPD104"]


# --- a loader dispatching on its argument -----------------------------------------------------------

MATCH = f"""
def load(role):
    match role:
        case "policy" | "reference":
            return {CAUSAL}
        case "reward":
            return {{reward}}
        case "value":
            return {SCORED}
        case _:
            raise ValueError(role)

trainer = PPOTrainer(args=cfg, processing_class=tok, model=load("policy"), ref_model=load("reference"),
                     reward_model=load("reward"), value_model=load({{value}}), train_dataset=None)
"""


def test_a_match_on_a_literal_role_returns_that_cases_model():
    assert found(MATCH.format(reward=CAUSAL, value='"value"')) == ["PPD104"]
    body = MATCH.format(reward=SCORED, value='"value"')
    assert found(body) == []
    setup = setup_of(body)
    assert setup.origin(Role.POLICY).class_name.endswith("AutoModelForCausalLM")
    assert setup.origin(Role.POLICY).key != setup.origin(Role.REFERENCE).key


def test_a_match_with_no_matching_case_gives_no_model():
    body = MATCH.format(reward=SCORED, value='"critic"').replace("        case _:\n            raise ValueError(role)\n", "")
    assert found(body) == []
    assert not setup_of(body).origin(Role.VALUE).known


def test_a_capture_pattern_matches_any_role():
    body = MATCH.format(reward=CAUSAL, value='"value"').replace('case "value":', "case other:")
    assert found(body) == ["PPD104"]
    assert setup_of(body).origin(Role.VALUE).class_name.endswith("AutoModelForSequenceClassification")


def test_a_match_on_a_role_that_cannot_be_told_leaves_the_returns_met():
    body = MATCH.format(reward=CAUSAL, value='"value"').replace('load("reward")', "load(ROLE)")
    body = "import os\nROLE = os.environ['ROLE']\n" + body
    assert found(body) == []  # the cases return different classes: unknown, not guessed
    assert not setup_of(body).origin(Role.REWARD).known


def test_an_if_chain_on_the_role_returns_the_taken_branch():
    body = f"""
    def load(role):
        if role == "reward":
            return {{reward}}
        elif role in ("policy", "reference"):
            return {CAUSAL}
        return {SCORED}

    trainer = PPOTrainer(args=cfg, processing_class=tok, model=load("policy"), ref_model=load("reference"),
                         reward_model=load("reward"), value_model=load("value"), train_dataset=None)
    """
    assert found(body.format(reward=CAUSAL)) == ["PPD104"]
    assert found(body.format(reward=SCORED)) == []
    assert setup_of(body.format(reward=SCORED)).origin(Role.VALUE).class_name.endswith("SequenceClassification")


def test_a_return_in_a_loop_does_not_end_the_function():
    body = f"""
    def load(role, extra=()):
        for name in extra:
            return {CAUSAL}
        if role == "reward":
            return {SCORED}
        return {CAUSAL}

    trainer = PPOTrainer(args=cfg, processing_class=tok, model=load("policy"), ref_model=load("reference"),
                         reward_model=load("reward"), value_model={SCORED}, train_dataset=None)
    """
    assert found(body) == []  # the loop's return may run: the reward's returns meet, unknown
    assert not setup_of(body).origin(Role.REWARD).known
    assert found(body.replace("        for name in extra:\n            return " + CAUSAL + "\n", "")) == []
    assert setup_of(body.replace("        for name in extra:\n            return " + CAUSAL + "\n", "")) \
        .origin(Role.REWARD).class_name.endswith("SequenceClassification")


def test_an_attribute_the_base_init_sets_from_a_method_is_read_through_the_override():
    body = _template(GOOD, OVERRIDE.format(reward=BAD)).replace(
        "self.trainer = PPOTrainer(args=cfg, processing_class=tok, train_dataset=None, **self.build_models())",
        "self.models = self.build_models()").replace(
        'Llama("models")', 'held = Llama("models")\n'
        'trainer = PPOTrainer(args=cfg, processing_class=tok, train_dataset=None, **held.models)')
    assert "**held.models" in body and "self.models = self.build_models()" in body
    assert found(body) == ["PPD104"]
    assert found(body.replace("held = Llama(", "held = Base(")) == []


def test_a_path_chosen_by_a_match_is_read_as_that_cases_value():
    body = f"""
    def path_for(role):
        match role:
            case "policy" | "reference":
                return "sft"
            case _:
                return "rm"

    trainer = PPOTrainer(args=cfg, processing_class=tok, model={CAUSAL}, ref_model={CAUSAL},
                         reward_model=AutoModelForSequenceClassification.from_pretrained(path_for("reward"), num_labels=1),
                         value_model=AutoModelForCausalLM.from_pretrained(path_for("policy")), train_dataset=None)
    """
    setup = setup_of(body)
    assert setup.origin(Role.REWARD).path.value == "rm"
    assert setup.origin(Role.VALUE).path.value == "sft"


def test_a_branch_test_that_calls_its_own_function_stays_unknown():
    body = f"""
    def load(role):
        if load(role) is None:
            return {CAUSAL}
        return {SCORED}

    trainer = PPOTrainer(args=cfg, processing_class=tok, model={CAUSAL}, ref_model={CAUSAL},
                         reward_model=load("reward"), value_model={SCORED}, train_dataset=None)
    """
    assert found(body) == []
    assert not setup_of(body).origin(Role.REWARD).known

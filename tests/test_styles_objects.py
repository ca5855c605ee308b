"""Two more styles of issue 20: the trainer itself pre-configured with functools.partial (or named
through an alias), and an object whose state one method writes and another reads (a model registry
filled by `.register(...)` calls, read back by `.build(role)`). Each has cases that must fire and
cases that must not."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from eras_helpers import codes, fix_all
from ppodoctor.setup.extract import extract
from ppodoctor.types import Role

HEAD = """
import functools
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
cfg = PPOConfig(output_dir="out")
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
RULES = ("PPD101", "PPD103", "PPD104", "PPD106", "PPD108", "PPD109", "PPD201", "PPD207")


def found(body: str) -> list[str]:
    return codes(HEAD + textwrap.dedent(body), "1.12.0", RULES)


def setups_of(body: str):
    return extract(libcst.parse_module(HEAD + textwrap.dedent(body)), "t.py").setups


# --- the trainer class through a partial or an alias --------------------------------------------

def test_a_partial_of_the_trainer_is_a_trainer_call_with_its_bound_arguments():
    body = """
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, train_dataset=None)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, value_model=critic)
    """
    assert found(body) == []
    (setup,) = setups_of(body)
    assert setup.origin(Role.CONFIG).class_name.endswith("PPOConfig")
    assert setup.origin(Role.VALUE).class_name.endswith("SequenceClassification")
    assert setup.variable == "trainer"


def test_a_partial_of_the_trainer_without_a_value_model_fires_ppd101():
    assert found("""
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, train_dataset=None)
    trainer = make(model=policy, ref_model=ref, reward_model=reward)
    """) == ["PPD101"]


def test_a_partial_of_the_trainer_with_its_own_value_model_bound_is_not_flagged():
    assert found("""
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, value_model=critic)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, train_dataset=None)
    """) == []


def test_the_calls_keyword_wins_over_the_partials():
    body = """
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, value_model=policy)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, value_model=critic, train_dataset=None)
    """
    assert found(body) == []
    (setup,) = setups_of(body)
    assert setup.origin(Role.VALUE).class_name.endswith("SequenceClassification")


def test_old_keywords_bound_by_the_partial_fire_where_they_are_written():
    body = """
    make = functools.partial(PPOTrainer, config=cfg, processing_class=tok, train_dataset=None)
    trainer = make(policy=policy, ref_policy=ref, reward_model=reward, value_model=critic)
    """
    assert found(body) == ["PPD201", "PPD201", "PPD201"]
    fixed = fix_all(HEAD + textwrap.dedent(body), "1.12.0", "PPD201")
    assert "functools.partial(PPOTrainer, args=cfg," in fixed and "make(model=policy, ref_model=ref," in fixed


def test_a_partial_of_a_partial_of_the_trainer_and_positional_arguments():
    body = """
    base = functools.partial(PPOTrainer, cfg, tok)
    make = functools.partial(base, train_dataset=None)
    trainer = make(policy, ref, reward, value_model=policy)
    """
    assert found(body) == ["PPD109"]
    (setup,) = setups_of(body)
    assert setup.origin(Role.REWARD).variable == "reward"


@pytest.mark.parametrize("body", [
    """
    Trainer = PPOTrainer
    trainer = Trainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                      train_dataset=None)
    """,
    """
    class MyTrainer(PPOTrainer):
        pass
    make = functools.partial(MyTrainer, args=cfg, processing_class=tok)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, train_dataset=None)
    """,
])
def test_an_alias_or_a_partial_of_a_subclass_is_judged_as_the_trainer(body):
    assert found(body) == ["PPD101"]


@pytest.mark.parametrize("body", [
    'make = functools.partial(print, "x")\ntrainer = make(model=policy)\n',
    "make = functools.partial(lookup(), args=cfg)\ntrainer = make(model=policy)\n",
])
def test_a_partial_of_something_else_is_no_trainer_call(body):
    assert setups_of(body) == ()


# --- an object's state: written by one method, read by another ----------------------------------

REGISTRY = """
class ModelRegistry:
    def __init__(self):
        self._specs = {}

    def register(self, role, model_class, path, **options):
        self._specs[role] = (model_class, path, options)
        return self

    def build(self, role):
        model_class, path, options = self._specs[role]
        return model_class.from_pretrained(path, **options)
"""
BUILT = ('trainer = PPOTrainer(args=cfg, processing_class=tok, model=registry.build("policy"), '
         'ref_model=registry.build("reference"), reward_model=registry.build("reward"), '
         'value_model=registry.build("value"), train_dataset=None)\n')
REGISTERED = """
registry = (
    ModelRegistry()
    .register("policy", AutoModelForCausalLM, "sft")
    .register("reference", AutoModelForCausalLM, "sft")
    .register("reward", {reward}, "rm", num_labels=1)
    .register("value", AutoModelForSequenceClassification, "rm", num_labels=1)
)
"""


def registry(reward: str = "AutoModelForSequenceClassification", between: str = "", after: str = "") -> str:
    return REGISTRY + REGISTERED.format(reward=reward) + textwrap.dedent(between) + BUILT + textwrap.dedent(after)


def test_a_registry_filled_by_chained_register_calls_is_read_back_by_build():
    assert found(registry("AutoModelForCausalLM")) == ["PPD104"]
    assert found(registry()) == []
    (setup,) = setups_of(registry())
    reward, value = setup.origin(Role.REWARD), setup.origin(Role.VALUE)
    assert reward.class_name == "transformers.AutoModelForSequenceClassification" and reward.path.value == "rm"
    assert setup.origin(Role.POLICY).class_name == "transformers.AutoModelForCausalLM"


def test_two_registered_roles_are_two_objects():
    (setup,) = setups_of(registry())
    policy, reference = setup.origin(Role.POLICY), setup.origin(Role.REFERENCE)
    assert policy.path.value == reference.path.value == "sft" and policy.key != reference.key
    assert found(registry()) == []  # no PPD106: two loads are two models


def test_register_statements_in_program_order_the_last_before_the_read_wins():
    late = '\nregistry.register("reward", AutoModelForCausalLM, "rm")\n'
    assert found(registry(between=late)) == ["PPD104"]
    assert found(registry(after=late)) == []  # registered after the trainer was built: not what it got
    fixed = '\nregistry.register("reward", AutoModelForSequenceClassification, "rm", num_labels=1)\n'
    assert found(registry("AutoModelForCausalLM", between=fixed)) == []


@pytest.mark.parametrize("between", [
    'import os\nif os.environ.get("CAUSAL"):\n    registry.register("reward", AutoModelForCausalLM, "rm")\n',
    'def setup(reg):\n    reg.register("reward", AutoModelForCausalLM, "rm")\nsetup(registry)\n',
])
def test_a_register_call_that_may_run_or_on_an_object_not_told_leaves_the_role_unknown(between):
    assert found(registry("AutoModelForCausalLM", between=between)) == []  # silent: maybe registered
    (setup,) = setups_of(registry(between=between))
    assert setup.origin(Role.REWARD).class_name == ""  # which class builds it: not told


def test_another_registry_object_does_not_change_this_one():
    other = '\nother = ModelRegistry().register("reward", AutoModelForCausalLM, "rm")\n'
    assert found(registry(between=other)) == []
    assert found(registry("AutoModelForCausalLM", between=other.replace("AutoModelForCausalLM",
                                                                        "AutoModelForSequenceClassification"))) \
        == ["PPD104"]


@pytest.mark.parametrize("methods", [
    # written in __init__ after the mapping is made
    """
class Models:
    def __init__(self, reward_class):
        self._specs = {}
        self._specs["reward"] = (reward_class, "rm")

    def build(self, role):
        model_class, path = self._specs[role]
        return model_class.from_pretrained(path)
registry = Models({reward})
""",
    # `.update(key=...)` in a method
    """
class Models:
    def __init__(self):
        self._specs = dict()

    def set_reward(self, model_class, path):
        self._specs.update(reward=(model_class, path))

    def build(self, role):
        model_class, path = self._specs[role]
        return model_class.from_pretrained(path)
registry = Models()
registry.set_reward({reward}, "rm")
""",
])
def test_writes_in_init_and_by_update_are_followed(methods):
    call = ('trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, '
            'reward_model=registry.build("reward"), value_model=critic, train_dataset=None)\n')
    assert found(textwrap.dedent(methods).replace("{reward}", "AutoModelForCausalLM") + call) == ["PPD104"]
    assert setups_of(textwrap.dedent(methods).replace("{reward}", "AutoModelForCausalLM") + call)[0] \
        .origin(Role.REWARD).class_name == "transformers.AutoModelForCausalLM"


# --- `**options` of a followed call: the keywords no other parameter takes -------------------------

FACTORY = """
def make_loader(model_class, **options):
    def load(path):
        return model_class.from_pretrained(path, **options)
    return load

load_lm = make_loader(AutoModelForCausalLM)
load_reward = make_loader({reward})
"""
FACTORY_CALL = ('trainer = PPOTrainer(args=cfg, processing_class=tok, model=load_lm("sft"), ref_model=load_lm("sft"), '
                'reward_model=load_reward("rm"), value_model=critic, train_dataset=None)\n')


def factory(reward: str) -> str:
    return FACTORY.replace("{reward}", reward) + FACTORY_CALL


def test_keywords_a_factory_collects_reach_the_load():
    (setup,) = setups_of(factory("AutoModelForSequenceClassification, num_labels=1"))
    reward = setup.origin(Role.REWARD)
    assert [(k.name, k.value.value) for k in reward.keywords] == [("num_labels", 1)] and not reward.partial
    assert codes(HEAD + factory("AutoModelForSequenceClassification, num_labels=2"), "1.12.0", ("PPD105",)) \
        == ["PPD105"]


def test_the_class_fix_goes_where_the_factory_is_called_with_num_labels_in_its_options():
    fixed = fix_all(HEAD + factory("AutoModelForCausalLM"), "1.12.0", "PPD104")
    assert "load_reward = make_loader(AutoModelForSequenceClassification, num_labels=1)\n" in fixed
    assert "load_lm = make_loader(AutoModelForCausalLM)\n" in fixed  # the policy's loader untouched
    assert "return model_class.from_pretrained(path, **options)" in fixed
    assert codes(fixed, "1.12.0", RULES) == []


def test_the_class_fix_is_declined_where_the_factory_call_serves_the_policy_too():
    source = HEAD + FACTORY.replace("{reward}", "AutoModelForCausalLM") + FACTORY_CALL.replace(
        'reward_model=load_reward("rm")', 'reward_model=load_lm("rm")')
    assert codes(source, "1.12.0", ("PPD104",)) == ["PPD104"]
    assert fix_all(source, "1.12.0", "PPD104") == source


def test_options_the_function_changes_before_handing_on_take_no_added_keyword():
    source = HEAD + FACTORY.replace("{reward}", "AutoModelForCausalLM").replace(
        "    def load(path):", '    options.pop("num_labels", None)\n    def load(path):') + FACTORY_CALL
    (setup,) = setups_of(source[len(HEAD):])
    assert setup.origin(Role.REWARD).keywords_span is None


def test_the_registry_fix_swaps_the_class_in_its_register_call():
    fixed = fix_all(HEAD + registry("AutoModelForCausalLM").replace(
        '.register("reward", AutoModelForCausalLM, "rm", num_labels=1)', '.register("reward", AutoModelForCausalLM, "rm")'),
        "1.12.0", "PPD104")
    assert '.register("reward", AutoModelForSequenceClassification, "rm", num_labels=1)' in fixed
    assert "return model_class.from_pretrained(path, **options)" in fixed


@pytest.mark.parametrize("read, path", [('options["path"]', "rm"), ("options", None)])
def test_a_collected_mapping_is_read_by_key_and_is_no_value_itself(read, path):
    body = f"""
    def load(model_class, **options):
        return model_class.from_pretrained({read})
    trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                         reward_model=load(AutoModelForSequenceClassification, path="rm"), value_model=critic)
    """
    (setup,) = setups_of(body)
    assert setup.origin(Role.REWARD).path.value == path


def test_a_partial_of_the_trainer_handed_to_a_function_is_followed():
    assert found("""
    def build(make):
        return make(model=policy, ref_model=ref, reward_model=reward, train_dataset=None)
    trainer = build(functools.partial(PPOTrainer, args=cfg, processing_class=tok))
    """) == ["PPD101"]


def test_a_partial_of_a_group_trainer_is_a_group_trainer_call():
    from ppodoctor.types import TrainerKind

    source = textwrap.dedent("""
    import functools
    from trl import GRPOConfig, GRPOTrainer
    make = functools.partial(GRPOTrainer, args=GRPOConfig(output_dir="out"), reward_funcs=["rm"])
    trainer = make(model="sft", train_dataset=None)
    """)
    file_setup = extract(libcst.parse_module(source), "t.py")
    assert file_setup.setups == () and [s.kind for s in file_setup.group_setups] == [TrainerKind.GRPO]
    (setup,) = file_setup.group_setups
    assert {binding.role for binding in setup.roles} >= {Role.POLICY, Role.CONFIG, Role.REWARD_FUNCS}

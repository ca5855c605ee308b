"""Three styles the doctor used to be blind to (issue 20, items 1 and 3): models loaded through
functools.partial loaders, memoised loaders (lru_cache, cache), and PPOTrainer subclasses whose
`__init__` hands its arguments on. Each has cases that must fire and cases that must not."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from eras_helpers import codes, fix_all
from ppodoctor.setup import kinds
from ppodoctor.setup.extract import extract
from ppodoctor.types import Role

HEAD = """
import functools
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
cfg = PPOConfig(output_dir="out")
"""
CALL = ("trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward, "
        "value_model=critic, train_dataset=None)\n")
RULES = ("PPD101", "PPD103", "PPD104", "PPD106", "PPD108", "PPD109", "PPD201", "PPD207")


def found(body: str, call: str = CALL) -> list[str]:
    return codes(HEAD + textwrap.dedent(body) + call, "1.12.0", RULES)


def setup_of(body: str, call: str = CALL):
    setups = extract(libcst.parse_module(HEAD + textwrap.dedent(body) + call), "t.py").setups
    assert len(setups) == 1
    return setups[0]


# --- functools.partial loaders ----------------------------------------------------------------

PARTIAL = """
load_lm = functools.partial(AutoModelForCausalLM.from_pretrained, dtype="auto")
load_rm = functools.partial(AutoModelForSequenceClassification.from_pretrained, num_labels=1)
policy = load_lm("sft")
ref = load_lm("sft")
reward = load_rm("rm")
"""


def test_a_causal_lm_from_a_partial_loader_as_value_model_fires():
    assert found(PARTIAL + 'critic = load_lm("sft")\n') == ["PPD103"]


def test_a_classifier_from_a_partial_loader_is_a_correct_value_model():
    assert found(PARTIAL + 'critic = load_rm("rm")\n') == []


def test_partial_keywords_merge_with_the_call_and_the_call_wins():
    setup = setup_of(PARTIAL + 'critic = load_rm("rm", num_labels=2)\n')
    critic = setup.origin(Role.VALUE)
    assert critic.kind == "from_pretrained" and critic.path.value == "rm"
    assert critic.keyword("num_labels").value.value == 2
    assert [k.name for k in critic.keywords] == ["num_labels"]
    assert "PPD105" in codes(HEAD + textwrap.dedent(PARTIAL + 'critic = load_rm("rm", num_labels=2)\n') + CALL,
                             "1.12.0", ("PPD105",))


def test_partial_positional_arguments_come_first_and_from_import_form():
    body = """
    from functools import partial
    load_lm = partial(AutoModelForCausalLM.from_pretrained, "sft")
    load_cls = partial(AutoModelForSequenceClassification.from_pretrained, "rm", num_labels=1)
    policy = load_lm()
    ref = load_lm()
    reward = load_cls()
    critic = load_lm(dtype="auto")
    """
    setup = setup_of(body)
    assert setup.origin(Role.VALUE).path.value == "sft"
    assert setup.origin(Role.VALUE).keyword("dtype").value.value == "auto"
    assert found(body) == ["PPD103"]
    # Each call of a partial makes its own object.
    assert not kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))


def test_partial_over_a_local_helper_binds_its_parameters():
    body = """
    def load_models(policy_path, reward_path, critic_class=AutoModelForSequenceClassification):
        policy = AutoModelForCausalLM.from_pretrained(policy_path)
        ref = AutoModelForCausalLM.from_pretrained(policy_path)
        reward = AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)
        critic = critic_class.from_pretrained(reward_path, num_labels=1)
        return policy, ref, reward, critic

    load = functools.partial(load_models, "sft")
    """
    assert found(body + 'policy, ref, reward, critic = load("rm", critic_class=AutoModelForCausalLM)\n') == \
        ["PPD103"]
    assert found(body + 'policy, ref, reward, critic = load("rm")\n') == []
    setup = setup_of(body + 'policy, ref, reward, critic = load("rm")\n')
    assert setup.origin(Role.POLICY).path.value == "sft" and setup.origin(Role.REWARD).path.value == "rm"


def test_a_partial_of_a_partial_and_a_policy_passed_twice():
    body = """
    base = functools.partial(AutoModelForCausalLM.from_pretrained)
    load = functools.partial(base, "sft")
    policy = load()
    ref = policy
    reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    """
    assert found(body) == ["PPD106"]
    assert setup_of(body).origin(Role.POLICY).path.value == "sft"


def test_a_partial_whose_target_cannot_be_told_stays_unknown():
    body = """
    load = functools.partial(pick_loader(), "sft")
    policy = load()
    ref = load()
    reward = load()
    critic = load()
    """
    setup = setup_of(body)
    assert setup.origin(Role.VALUE).kind == "call" and setup.origin(Role.VALUE).reason
    assert found(body) == []


# --- memoised loaders -------------------------------------------------------------------------

MODELS_REST = """
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""


@pytest.mark.parametrize("decorator, imports", [
    ("@functools.lru_cache(maxsize=None)", ""),
    ("@functools.lru_cache", ""),
    ("@functools.lru_cache()", ""),
    ("@lru_cache(None)", "from functools import lru_cache\n"),
    ("@functools.cache", ""),
    ("@cache", "from functools import cache\n"),
    ("@torch.no_grad()\n@functools.cache", "import torch\n"),
])
def test_a_memoised_loader_called_twice_with_equal_arguments_returns_one_object(decorator, imports):
    body = imports + decorator + """
def load(path, revision="main"):
    return AutoModelForCausalLM.from_pretrained(path, revision=revision)

SFT = "sft"
policy = load("sft")
ref = load(SFT)
""" + MODELS_REST
    assert found(body) == ["PPD106"]
    setup = setup_of(body)
    assert kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))


@pytest.mark.parametrize("calls", [
    'policy = load("sft")\nref = load("sft-ref")\n',  # different arguments: two entries
    'policy = load("sft")\nref = load("sft", revision="main")\n',  # lru_cache keys what is written
    'policy = load("sft")\nref = load(path="sft")\n',
    'policy = load("sft")\nref = load(pick())\n',  # a value that cannot be told: no claim
])
def test_a_memoised_loader_with_other_arguments_makes_another_object(calls):
    body = """
@functools.lru_cache(maxsize=None)
def load(path, revision="main"):
    return AutoModelForCausalLM.from_pretrained(path, revision=revision)

""" + calls + MODELS_REST
    assert found(body) == []
    setup = setup_of(body)
    assert not kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))


@pytest.mark.parametrize("decorator", ["", "@functools.lru_cache(maxsize=0)\n", "@functools.lru_cache(maxsize=1)\n",
                                       "@log_calls\n@functools.cache\n", "@functools.lru_cache(maxsize=SIZE)\n"])
def test_without_a_cache_that_can_be_told_equal_calls_make_two_objects(decorator):
    # No cache, one that caches nothing, one too small for the file's calls, one under an unknown
    # decorator, one of a size the source does not show.
    body = decorator + """def load(path):
    return AutoModelForCausalLM.from_pretrained(path)

policy = load("sft")
ref = load("sft")
""" + MODELS_REST
    assert found(body) == []


def test_a_memoised_loader_of_a_causal_lm_as_value_model_fires():
    body = """
@functools.cache
def load(path):
    return AutoModelForCausalLM.from_pretrained(path)

policy = load("sft")
ref = load("sft-ref")
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = load("sft-critic")
"""
    assert found(body) == ["PPD103"]


def test_a_memoised_method_is_not_claimed_to_share():
    body = """
class Loader:
    @functools.lru_cache(maxsize=None)
    def load(self, path):
        return AutoModelForCausalLM.from_pretrained(path)

policy = Loader().load("sft")
ref = Loader().load("sft")
""" + MODELS_REST
    assert found(body) == []


LOADER = """
class Loader:
    def __init__(self, root):
        self.root = root

    @functools.lru_cache(maxsize=None)
    def load(self, name):
        return AutoModelForCausalLM.from_pretrained(self.root + name)

"""


def test_a_memoised_method_on_one_object_with_equal_arguments_returns_one_object():
    # lru_cache on a method keys by (self, arguments): one loader, the same name -> the policy object twice.
    body = LOADER + 'loader = Loader("/ckpt/")\npolicy = loader.load("sft")\nref = loader.load("sft")\n' + MODELS_REST
    assert found(body) == ["PPD106"]


@pytest.mark.parametrize("calls", [
    'loader = Loader("/ckpt/")\npolicy = loader.load("sft")\nref = loader.load("sft-ref")\n',  # other arguments
    'policy = Loader("/ckpt/").load("sft")\nref = Loader("/ckpt/").load("sft")\n',  # two objects, two caches
    'a = Loader("/ckpt/")\nb = Loader("/ckpt/")\npolicy = a.load("sft")\nref = b.load("sft")\n',
])
def test_a_memoised_method_on_other_objects_or_arguments_makes_two(calls):
    assert found(LOADER + calls + MODELS_REST) == []


def test_a_method_without_a_cache_makes_an_object_per_call():
    body = LOADER.replace("    @functools.lru_cache(maxsize=None)\n", "")
    assert found(body + 'loader = Loader("/ckpt/")\npolicy = loader.load("sft")\nref = loader.load("sft")\n'
                 + MODELS_REST) == []


HELD_PARTIAL = """
class Models:
    def __init__(self):
        self.load = functools.partial({cls}.from_pretrained{kwargs})

    def critic(self):
        return self.load("sft")

m = Models()
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = m.critic()
"""


def test_a_partial_held_as_an_attribute_is_followed():
    assert found(HELD_PARTIAL.format(cls="AutoModelForCausalLM", kwargs="")) == ["PPD103"]
    assert found(HELD_PARTIAL.format(cls="AutoModelForSequenceClassification", kwargs=", num_labels=1")) == []
    setup = setup_of(HELD_PARTIAL.format(cls="AutoModelForSequenceClassification", kwargs=", num_labels=1"))
    value = setup.origin("value")
    assert value.path.value == "sft" and [(k.name, k.value.value) for k in value.keywords] == [("num_labels", 1)]


# --- PPOTrainer subclasses that forward ---------------------------------------------------------

MODELS = """
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
NO_VALUE = ("trainer = MyTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward, "
            "train_dataset=None, log_every=5)\n")


@pytest.mark.parametrize("klass", [
    """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        self.log_every = log_every
        super().__init__(*args, **kwargs)
""",
    """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        PPOTrainer.__init__(self, *args, **kwargs)
""",
    """
class MyTrainer(PPOTrainer):
    def __init__(self, model, ref_model, log_every=10, **kwargs):
        super(MyTrainer, self).__init__(model=model, ref_model=ref_model, **kwargs)
""",
    """
class Logging(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, **kwargs)

class MyTrainer(Logging):
    pass
""",
    """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, **kwargs):
        self.log_every = kwargs.pop("log_every", 10)
        super().__init__(*args, **kwargs)
""",
])
def test_a_forwarding_subclass_without_value_model_fires_ppd101_and_only_that(klass):
    assert found(MODELS + klass, NO_VALUE) == ["PPD101"]
    setup = setup_of(MODELS + klass, NO_VALUE)
    assert setup.subclass_forwards and "log_every" not in setup.keywords()
    assert setup.origin(Role.POLICY).variable == "policy"


def test_a_forwarding_subclass_passed_positionally_and_with_an_old_keyword():
    klass = """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, **kwargs)
"""
    call = ("trainer = MyTrainer(config=cfg, processing_class=tok, model=policy, ref_model=policy, "
            "reward_model=reward, value_model=critic, train_dataset=None, log_every=5)\n")
    assert found(MODELS + klass, call) == ["PPD106", "PPD201"]


@pytest.mark.parametrize("supplied", [
    "value_model=self.make_critic()",
    'value_model=AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)',
])
def test_a_subclass_that_supplies_the_value_model_itself_does_not_fire(supplied):
    klass = f"""
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, {supplied}, **kwargs)

    def make_critic(self):
        return AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
    assert found(MODELS + klass, NO_VALUE) == []
    assert setup_of(MODELS + klass, NO_VALUE).origin(Role.VALUE).class_name.endswith("SequenceClassification")


def test_a_subclass_that_supplies_a_causal_lm_as_value_model_fires_ppd103():
    klass = """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, value_model=AutoModelForCausalLM.from_pretrained("sft"), **kwargs)
"""
    assert found(MODELS + klass, NO_VALUE) == ["PPD103"]


@pytest.mark.parametrize("init", [
    # The forwarding call in a branch, kwargs changed before it is passed on, passed twice, or
    # handed to another call first: what PPOTrainer receives cannot be told.
    "        if log_every:\n            super().__init__(*args, **kwargs)\n",
    "        kwargs.setdefault('value_model', make())\n        super().__init__(*args, **kwargs)\n",
    "        kwargs['value_model'] = make()\n        super().__init__(*args, **kwargs)\n",
    "        prepare(kwargs)\n        super().__init__(*args, **kwargs)\n",
    "        kwargs = dict(kwargs, value_model=make())\n        super().__init__(*args, **kwargs)\n",
    "        kwargs.pop(KEY)\n        super().__init__(*args, **kwargs)\n",
    "        if log_every:\n            kwargs.pop('value_model')\n        super().__init__(*args, **kwargs)\n",
])
def test_a_subclass_whose_forwarding_cannot_be_read_stays_silent(init):
    klass = "\nclass MyTrainer(PPOTrainer):\n    def __init__(self, *args, log_every=10, **kwargs):\n" + init
    assert found(MODELS + klass, NO_VALUE) == []
    assert setup_of(MODELS + klass, NO_VALUE).unresolved_star


def test_a_mapping_that_may_hold_the_subclass_own_parameter_stays_unknown():
    klass = """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, **kwargs)
"""
    call = "trainer = MyTrainer(**options)\n"
    assert found(MODELS + klass, call) == []


def test_a_partial_loader_handed_to_a_helper_is_followed():
    body = """
    load_lm = functools.partial(AutoModelForCausalLM.from_pretrained, "sft")

    def build(loader):
        return loader()

    policy = build(load_lm)
    ref = build(load_lm)
    reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    critic = build(load_lm)
    """
    assert found(body) == ["PPD103"]


# --- the fixes edit the class where it is written ----------------------------------------------

def test_the_class_fix_edits_the_partial_a_loader_wraps():
    body = """
    load_policy = functools.partial(AutoModel.from_pretrained, "sft")
    load_ref = functools.partial(AutoModelForCausalLM.from_pretrained, "sft")
    policy = load_policy()
    ref = load_ref()
    reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    """
    source = HEAD + "from transformers import AutoModel\n" + textwrap.dedent(body) + CALL
    fixed = fix_all(source, "1.12.0", "PPD110")
    assert 'load_policy = functools.partial(AutoModelForCausalLM.from_pretrained, "sft")' in fixed
    assert "policy = load_policy()\n" in fixed


def test_the_class_fix_edits_the_argument_a_memoised_loader_is_called_with():
    body = """
    @functools.lru_cache(maxsize=None)
    def load(model_class, path, role="policy"):
        return model_class.from_pretrained(path)

    policy = load(AutoModelForCausalLM, "sft")
    ref = load(AutoModel, "sft", "reference")
    reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    """
    source = HEAD + "from transformers import AutoModel\n" + textwrap.dedent(body) + CALL
    assert codes(source, "1.12.0", ("PPD110", "PPD106")) == ["PPD110"]
    fixed = fix_all(source, "1.12.0", "PPD110")
    assert 'ref = load(AutoModelForCausalLM, "sft", "reference")' in fixed
    assert "return model_class.from_pretrained(path)" in fixed
    # The same class argument for both: one cached object, the reference is the policy.
    same = source.replace('load(AutoModel, "sft", "reference")', 'load(AutoModelForCausalLM, "sft")')
    assert codes(same, "1.12.0", ("PPD110", "PPD106")) == ["PPD106"]


def test_a_class_shared_by_two_roles_through_one_partial_is_not_swapped_for_one():
    body = """
    load = functools.partial(AutoModelForCausalLM.from_pretrained)
    policy = AutoModelForCausalLM.from_pretrained("sft")
    ref = AutoModelForCausalLM.from_pretrained("sft")
    reward = load("rm")
    critic = load("rm")
    """
    source = HEAD + textwrap.dedent(body) + CALL
    assert "PPD104" in codes(source, "1.12.0", ("PPD104",))
    assert "functools.partial(AutoModelForCausalLM.from_pretrained)" in fix_all(source, "1.12.0", "PPD104")


NAMED = """
class MyTrainer(PPOTrainer):
    def __init__(self, config, model, ref_model, processing_class, reward_model, train_dataset, log_every=10):
        super().__init__(config=config, model=model, ref_model=ref_model, processing_class=processing_class,
                         reward_model=reward_model, train_dataset=train_dataset)
"""


def test_a_subclass_that_passes_named_parameters_on_is_fixed_where_it_passes_them():
    call = ("trainer = MyTrainer(cfg, policy, ref, processing_class=tok, reward_model=reward, train_dataset=None, "
            "log_every=5)\n")
    source = HEAD + textwrap.dedent(MODELS + NAMED) + call
    assert codes(source, "1.12.0", RULES) == ["PPD101", "PPD201"]
    setup = setup_of(MODELS + NAMED, call)
    assert not setup.passes_keywords and setup.origin(Role.POLICY).variable == "policy"
    # `config=` is renamed in the call that hands it on, not at the script's positional `cfg`.
    fixed = fix_all(source, "1.12.0", "PPD201")
    assert "super().__init__(args=config, model=model" in fixed and "MyTrainer(cfg, policy, ref," in fixed
    # No `value_model=` can be added to a call whose class would not hand it on.
    assert fix_all(source, "1.12.0", "PPD101") == source


def test_a_value_model_the_subclass_pops_never_reaches_ppotrainer():
    klass = """
class MyTrainer(PPOTrainer):
    def __init__(self, *args, **kwargs):
        self.critic = kwargs.pop("value_model", None)
        super().__init__(*args, **kwargs)
"""
    call = CALL.replace("PPOTrainer(", "MyTrainer(")
    source = HEAD + textwrap.dedent(MODELS + klass) + call
    assert codes(source, "1.12.0", RULES) == ["PPD101"]
    setup = setup_of(MODELS + klass, call)
    assert setup.own_keywords == ("value_model",) and not setup.takes_keyword("value_model")
    assert fix_all(source, "1.12.0", "PPD101") == source  # another `value_model=` would be popped too

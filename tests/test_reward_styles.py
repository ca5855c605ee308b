"""Reward functions written in styles other hands use (PPD603 reads them, fires where TRL fails and stays
silent where it would not): callable objects of the file's own classes, functions under registering
decorators, rewards picked by a comprehension over a visible list or an argparse default, numbers made
by arithmetic; and the `**kwargs` fix after a parameter with a default or an annotation."""

from __future__ import annotations

import textwrap

import pytest

from test_group_rules import OK_CONFIG, codes, fixed, script, trainer


def _check(definition: str, funcs: str) -> list[str]:
    return codes(script(textwrap.dedent(definition) + trainer(OK_CONFIG, funcs=funcs)))


# --- callable objects ------------------------------------------------------------------------------------
_NO_KWARGS = '''
class Scorer:
    def __init__(self, target=4):
        self.target = target
    def __call__(self, completions):
        return [0.0 for _ in completions]
'''


@pytest.mark.parametrize("definition, funcs, expected", [
    (_NO_KWARGS, "[Scorer(target=6)]", ["PPD603"]),
    (_NO_KWARGS, "Scorer()", ["PPD603"]),
    (_NO_KWARGS.replace("(self, completions)", "(self, completions, **kwargs)"), "[Scorer(), reward]", []),
    (_NO_KWARGS.replace("return [0.0 for _ in completions]", "return 0.5"
                        ).replace("(self, completions)", "(self, completions, **kw)"), "[Scorer()]", ["PPD603"]),
    # inherited from a base of the file: Python finds it there
    (_NO_KWARGS + "class Longer(Scorer):\n    pass\n", "[Longer()]", ["PPD603"]),
    # a class from outside the file may come first in the lookup: silent
    ("import torch\n" + _NO_KWARGS + "class Mixed(torch.nn.Module, Scorer):\n    pass\n", "[Mixed()]", []),
    # a static __call__ is not called with the instance: not read
    (_NO_KWARGS.replace("    def __call__(self, completions):", "    @staticmethod\n    def __call__(completions):"),
     "[Scorer()]", []),
    # a class without __call__ (TRL fails otherwise), one from another module: not this rule's
    ("class Plain:\n    pass\n", "[Plain()]", []),
    ("from scorers import Scorer\n", "[Scorer()]", []),
])
def test_a_callable_object_is_judged_by_its_call(definition, funcs, expected):
    assert _check(definition, funcs) == expected


def test_the_fix_adds_kwargs_to_the_objects_call():
    text = fixed(script(textwrap.dedent(_NO_KWARGS) + trainer(OK_CONFIG, funcs="[Scorer(target=6)]")), "PPD603")
    assert "    def __call__(self, completions, **kwargs):" in text, text
    assert codes(text) == []


# --- registering decorators -------------------------------------------------------------------------------
_FACTORY = '''
REGISTRY = {}
def register(name):
    def keep(function):
        REGISTRY[name] = function
        return function
    return keep
'''
_PLAIN = '''
REWARDS = []
def register(function):
    REWARDS.append(function)
    return function
'''
_WRAPS = '''
def register(function):
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper
'''
_MAYBE = '''
def register(function):
    if function.__doc__:
        return function
'''


@pytest.mark.parametrize("decorator, line, expected", [
    (_FACTORY, '@register("f")', ["PPD603"]),
    (_PLAIN, "@register", ["PPD603"]),
    (_WRAPS, "@register", []),  # the name holds a wrapper that takes any keyword
    (_MAYBE, "@register", []),  # may hand back None: not the function
    ("import rewards\n", "@rewards.register", []),  # a decorator from elsewhere may return anything
    (_FACTORY.replace("return function", "return staticmethod(function)"), '@register("f")', []),
])
def test_a_decorator_that_hands_the_function_back_keeps_it(decorator, line, expected):
    definition = decorator + f"{line}\ndef f(completions):\n    return [0.0 for _ in completions]\n"
    assert _check(definition, "[f]") == expected


def test_a_registered_function_returning_a_number():
    definition = _FACTORY + '@register("f")\ndef f(completions, **kwargs):\n    return sum(map(len, completions)) / len(completions)\n'
    assert _check(definition, "[f]") == ["PPD603"]


# --- rewards picked by a comprehension ---------------------------------------------------------------------
_TABLE = '''
import argparse
import functools
def bare(completions):
    return [0.0 for _ in completions]
TABLE = {"good": reward, "bare": bare}
NAMES = ["good", "bare"]
parser = argparse.ArgumentParser()
parser.add_argument("--rewards", nargs="+", default=["good", "bare"])
parser.add_argument("--safe", nargs="+", default=["good"])
args = parser.parse_args()
'''


@pytest.mark.parametrize("funcs, expected", [
    ("[TABLE[name] for name in NAMES]", ["PPD603"]),
    ("list(TABLE[name] for name in NAMES)", ["PPD603"]),
    ("[TABLE[name] for name in args.rewards]", ["PPD603"]),
    ("[TABLE[name] for name in ('good', 'bare')]", ["PPD603"]),
    ("[TABLE[name] for name in args.safe]", []),
    ("[function for function in (reward, bare)]", ["PPD603"]),  # elements that are no str: keyed by position
    ("[functools.partial(bare) for _ in range(2)]", []),  # range(...) is not a display: not expanded
    ("[TABLE[name] for name in [n for n in NAMES]]", []),  # an iterable that is itself a comprehension
    ("[TABLE[name] for name in NAMES if name != 'bare']", []),  # filtered: which stay is not followed
    ("[TABLE[name] for name in sys.argv[1:]]", []),  # the command line's: not visible
])
def test_rewards_chosen_by_a_comprehension(funcs, expected):
    assert _check(_TABLE, funcs) == expected


# --- numbers made by arithmetic, and the fix after a default ------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("return sum(map(len, completions)) / len(completions)", ["PPD603"]),
    ("return 1.0 - len(completions) * 0.5", ["PPD603"]),
    ("return [len(c) / 10 for c in completions]", []),
    ("return scores / 2", []),  # `scores` may be a tensor of one reward per completion
    ("return [0.0] * len(completions)", []),
])
def test_arithmetic_of_numbers_returns_a_number(body, expected):
    assert _check(f"def f(completions, **kwargs):\n    {body}\n", "[f]") == expected


@pytest.mark.parametrize("parameters, written", [
    ("completions, max_chars=12", "def f(completions, max_chars=12, **kwargs):"),
    ("completions, k: int = (3)", "def f(completions, k: int = (3), **kwargs):"),
    ("completions: list", "def f(completions: list, **kwargs):"),
])
def test_the_kwargs_fix_goes_after_a_default_or_an_annotation(parameters, written):
    text = fixed(script(f"def f({parameters}):\n    return [0.0]\n" + trainer(OK_CONFIG, funcs="f")), "PPD603")
    assert written in text, text
    assert codes(text) == []


# --- methods bound to an object of the file's class -----------------------------------------------------------
_RECIPE = '''
class Recipe:
    def __init__(self, scale=1.0):
        self.scale = scale
    def bare(self, completions):
        return [self.scale for _ in completions]
    def good(self, completions, **kwargs):
        return [self.scale for _ in completions]
    @staticmethod
    def static(completions):
        return [0.0 for _ in completions]
    def build(self, funcs):
        config = GRPOConfig(output_dir="o", per_device_train_batch_size=2, num_generations=2)
        return GRPOTrainer(model="m", reward_funcs=funcs, args=config, train_dataset=ds)
'''


@pytest.mark.parametrize("call, expected", [
    ("Recipe().build([Recipe().bare])", ["PPD603"]),
    ("recipe = Recipe(2.0)\ntrainer = GRPOTrainer(model='m', reward_funcs=[recipe.bare, reward], args=GRPOConfig("
     "output_dir='o', per_device_train_batch_size=2, num_generations=2), train_dataset=ds)", ["PPD603"]),
    ("Recipe().build([Recipe().good])", []),
    ("Recipe().build([Recipe().static])", []),  # a static method: not read as bound
])
def test_a_method_bound_to_its_object_is_judged_without_the_instance(call, expected):
    assert codes(script(textwrap.dedent(_RECIPE) + call + "\n")) == expected


def test_self_method_inside_the_class_and_its_fix():
    source = script(textwrap.dedent(_RECIPE).replace("reward_funcs=funcs", "reward_funcs=[self.bare, self.good]")
                    + "Recipe().build(None)\n")
    assert codes(source) == ["PPD603"]
    text = fixed(source, "PPD603")
    assert "    def bare(self, completions, **kwargs):" in text, text
    assert codes(text) == []


def test_a_method_an_imported_base_may_shadow_is_not_read():
    source = script("import torch\nclass Base:\n    def bare(self, completions):\n        return [0.0]\n"
                    "class Scorer(torch.nn.Module, Base):\n    pass\n" + trainer(OK_CONFIG, funcs="[Scorer().bare]"))
    assert codes(source) == []
    assert codes(source.replace("torch.nn.Module, ", "")) == ["PPD603"]

from __future__ import annotations

from typing import Optional

from ..probe.probe_checks import Check
from ..setup.model import FunctionShape
from ..types import ERROR, SAFE, Declined, Fix, KnownError, ParameterKind, ReturnKind, Role
from .base import Rule
from .group_common import (CALL_KEYWORDS, GROUP_KINDS, MEASURED, NOT_PASSED_COLUMNS, applies, dataset_columns,
                           example, trainer_word)

_NAMED = (ParameterKind.POSITIONAL_OR_KEYWORD, ParameterKind.KEYWORD_ONLY)


class RewardFunctionSignature(Rule):
    """A reward function cannot take the call the trainer makes, or does not return a list.

    Why it breaks: RLOOTrainer and GRPOTrainer call every reward function with keywords only:
    `reward_func(prompts=..., completions=..., completion_ids=..., **columns, trainer_state=...,
    log_extra=..., log_metric=...)`, where `columns` are the dataset's other columns (all but `prompt`,
    `completion`, `completion_ids`), one list each. A function without `**kwargs` fails at the first
    generation step with `TypeError: length_reward() got an unexpected keyword argument 'prompts'`; one
    with a required parameter the call does not pass (a column the dataset lacks, a positional-only
    parameter) with `TypeError: length_reward() missing 1 required positional argument: 'answer'`. The
    trainer then iterates the result, one reward per completion: a function that returns a number (or
    None) fails with `TypeError: 'float' object is not iterable` (trl 1.12 - 1.16). All of it strikes
    after the models are loaded and the first completions generated.

    Fix: take the keywords you use by name and the rest as `**kwargs`
    (`def reward(completions, **kwargs)`), and return a list with one float per completion. The fix
    adds `**kwargs` where that is all that is missing (safe: the function cannot be called otherwise);
    a missing column or a returned number is yours to change.
    The rule reads functions defined in the file or in a module of the project it imports (where the
    fix then edits them), lambdas, functions under a decorator of the file that hands them back,
    `functools.partial`s of them by the parameters the partial leaves, and objects of the file's classes
    by their `__call__` (and their methods bound to them, `self.reward`); it says nothing of functions
    from installed packages, and
    a required parameter is judged only when the dataset's columns are visible.
    """

    code = "PPD603"
    name = "reward-function-signature"
    severity = ERROR
    summary = "a reward function that cannot take the trainer's keyword call or returns no list"
    trainer_kinds = GROUP_KINDS
    fix_title = "add **kwargs to the reward function's parameters"
    probe_check = "the trainer's own _calculate_rewards calls a stand-in with the function's parameters and visible " \
                  "returns on the dataset's first rows (the user's function never runs); fixed: the call binds"
    # The probe's verdict reads only the call of the finding's own function: another function's failure is its
    # own finding, and every other step must pass (pipeline/verdicts.py).
    steps = (Check.REWARD_CALL,)
    known_errors = (
        KnownError("reward-function-keywords", r"got an unexpected keyword argument '(prompts|completions|"
                   r"completion_ids|trainer_state|log_extra|log_metric)'",
                   "TypeError: length_reward() got an unexpected keyword argument 'prompts'", "1.12 - 1.16",
                   "train() (first step)", "the reward function has no `**kwargs` for the keywords TRL passes",
                   "add `**kwargs` to the reward function's parameters"),
        KnownError("reward-function-missing-argument", r"missing \d+ required (positional|keyword-only) argument",
                   "TypeError: length_reward() missing 1 required positional argument: 'answer'", "1.12 - 1.16",
                   "train() (first step)", "a required parameter of the reward function is not a keyword TRL "
                   "passes (a column the dataset lacks, or a positional-only parameter)",
                   "give it a default, or add the column to the dataset"),
        KnownError("reward-function-not-list", r"object is not iterable",
                   "TypeError: 'float' object is not iterable", "1.12 - 1.16", "train() (first step)",
                   "the reward function returns one number, not a list of rewards",
                   "return a list with one float per completion"),
    )
    invalid = (example('''
        from trl import GRPOTrainer
        def length_reward(completions):
            return [float(len(c)) for c in completions]
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=length_reward, args=config, train_dataset=ds)
        '''), example('''
        from datasets import Dataset
        from trl import RLOOTrainer
        ds = Dataset.from_dict({"prompt": ["2+2=", "3+3="]})
        def exact(completions, answer, **kwargs):
            return [float(c == a) for c, a in zip(completions, answer)]
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[exact], args=config, train_dataset=ds)
        '''), example('''
        from trl import GRPOTrainer
        def constant(completions, **kwargs):
            return 1.0
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[constant], args=config, train_dataset=ds)
        '''), example('''
        from functools import partial
        from trl import GRPOTrainer
        def closeness(completions, target_len):
            return [-abs(target_len - len(c)) for c in completions]
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=partial(closeness, target_len=8), args=config,
                              train_dataset=ds)
        '''), example('''
        from trl import RLOOTrainer
        class LengthTarget:
            def __init__(self, target):
                self.target = target
            def __call__(self, completions):
                return [-abs(self.target - len(c)) for c in completions]
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[LengthTarget(8)], args=config, train_dataset=ds)
        '''))
    valid = (example('''
        from datasets import Dataset
        from trl import GRPOTrainer
        ds = Dataset.from_dict({"prompt": ["2+2=", "3+3="], "answer": ["4", "6"]})
        def exact(completions, answer, **kwargs):
            return [float(c == a) for c, a in zip(completions, answer)]
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[exact, "org/rm"], args=config,
                              train_dataset=ds)
        '''), example('''
        from trl import GRPOTrainer
        from my_rewards import length_reward
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=length_reward, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOTrainer
        def exact(completions, answer, **kwargs):
            return [float(c == a) for c, a in zip(completions, answer)]
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=exact, args=config,
                              train_dataset=load_dataset("json", data_files="math.jsonl", split="train"))
        '''), example('''
        import functools
        from datasets import Dataset
        from trl import GRPOTrainer
        ds = Dataset.from_dict({"prompt": ["2+2=", "3+3="]})
        def exact(completions, answer, **kwargs):
            return [float(c == answer) for c in completions]
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[functools.partial(exact, answer="4")],
                              args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        binding = setup.role(Role.REWARD_FUNCS)
        if binding is None or not applies(context):
            return
        found = dataset_columns(setup)
        passed = None if found is None or found.hub_text else \
            tuple(name for name, _kind in found.named if name not in NOT_PASSED_COLUMNS)
        seen = set()
        for origin in binding.members():
            shape = origin.function
            # one finding per function and what it can be called with: two partials binding alike are one
            if shape is None or shape.name_span is None or (shape.name_span, shape.parameters) in seen:
                continue
            seen.add((shape.name_span, shape.parameters))
            span = shape.name_span  # in a project module: core reports it at the argument, pointing there
            problem, fixable = _signature_problem(shape, passed)
            if problem:
                fix = Fix(self.fix_title, SAFE, (("function", origin.function),)) if fixable else None
                yield self.report(f"reward function `{origin.text}` {problem}: {trainer_word(setup)}Trainer calls "
                                  "it with keywords only (`prompts=`, `completions=`, `completion_ids=`, the "
                                  "dataset's other columns, `trainer_state=`, `log_extra=`, `log_metric=`) at the "
                                  f"first step ({MEASURED}, target {context.target.version})", span, setup, fix=fix,
                                  subject=f"{_SIGNATURE}:{shape.name}")
            returned = _not_a_list(shape)
            if returned:
                yield self.report(f"reward function `{origin.text}` returns {returned}, not a list of rewards: "
                                  f"{trainer_word(setup)}Trainer iterates it and fails with `TypeError: "
                                  f"'{'NoneType' if returned == 'None' else 'float'}' object is not iterable` "
                                  f"({MEASURED}, target {context.target.version}); return one float per "
                                  "completion", span, setup, subject=f"{_RETURNS}:{shape.name}")

    def fix(self, diagnostic, context):
        shape: FunctionShape = diagnostic.fix.param("function")
        # a function of a project module: the engine asks again with that module's map, and edits it there
        context.source.here(shape.name_span)
        last = shape.last_parameter
        if last is not None:
            return (context.source.insert_at(last.end_line, last.end_column, ", **kwargs"),)
        # no parameters: `def name()` gets them inside its parentheses, `lambda:` after its keyword
        name = shape.name_span
        if shape.name == "<lambda>":
            return (context.source.insert_at(name.line, name.column + len("lambda"), " **kwargs"),)
        line = context.source.text.splitlines()[name.end_line - 1]
        opening = line.find("(", name.end_column - 1)
        if opening < 0:
            raise Declined("the function's parameters do not start on its name's line")
        return (context.source.insert_at(name.end_line, opening + 2, "**kwargs"),)


    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import reward_call_fails

        what, _sep, function = diagnostic.subject.partition(":")
        return reward_call_fails(facts, diagnostic.setup_index, function, self._patterns(what))

    def validate_fix(self, diagnostic, before, after):
        """The fixed function's call binds: TRL passes it every keyword. A returned number it still fails on
        is the `returns` finding's, which no fix makes (the function is cured of this one)."""
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import reward_call_fails

        what, _sep, function = diagnostic.subject.partition(":")
        found, detail = reward_call_fails(after, diagnostic.setup_index, function, self._patterns(what))
        return (None if found is None else not found), detail

    def _patterns(self, what: str) -> list[str]:
        own = self.known_errors[2:] if what == _RETURNS else self.known_errors[:2]
        return [known.pattern for known in own]


_SIGNATURE, _RETURNS = "signature", "returns"  # a finding's subject: `signature:<function>` / `returns:<function>`


def _signature_problem(shape: FunctionShape, passed: Optional[tuple[str, ...]]) -> tuple[str, bool]:
    """(what is wrong with the parameters, "" when nothing is; whether adding `**kwargs` cures it)."""
    positional_only = [p.name for p in shape.parameters if p.kind == ParameterKind.POSITIONAL_ONLY
                       and not p.has_default]
    if positional_only:
        return f"has the positional-only parameter `{positional_only[0]}`, which a keyword call cannot fill", False
    names = {p.name for p in shape.parameters if p.kind in _NAMED}
    if passed is not None:
        given = set(CALL_KEYWORDS) | set(passed)
        required = [p.name for p in shape.parameters if p.kind in _NAMED and not p.has_default
                    and p.name not in given]
        if required:
            return (f"requires `{required[0]}`, which is neither a keyword TRL passes nor a column of the "
                    "dataset", False)
    if shape.takes_any_keyword():
        return "", False
    order = CALL_KEYWORDS[:3] + (passed or ()) + CALL_KEYWORDS[3:]
    unexpected = [name for name in order if name not in names]
    if not unexpected:
        return "", False
    listed = ", ".join(f"`{name}`" for name in unexpected)
    return f"has no `**kwargs` and does not take {listed} (`TypeError: ... got an unexpected keyword argument " \
           f"'{unexpected[0]}'`)", True


def _not_a_list(shape: FunctionShape) -> str:
    """"a number" / "None" when every visible return gives one (never for async functions, awaited apart)."""
    if shape.is_async or not shape.returns:
        return ""
    if all(kind == ReturnKind.NONE for kind in shape.returns):
        return "None"
    if all(kind in (ReturnKind.SCALAR, ReturnKind.NONE) for kind in shape.returns):
        return "a number"
    return ""



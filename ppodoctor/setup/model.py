"""The setup model: a plain description of every PPOTrainer construction in a file.

Everything downstream (rules, fixes, the probe in another interpreter) reads this and nothing
else, so it is made of frozen dataclasses that round-trip through JSON. "Unknown" is a legal
value everywhere: a rule that meets it stays silent rather than guess.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any, Optional, Union

from ..records import Record, record
from .shapes import ArgvRefusal, FunctionShape
from ..types import (UNKNOWN, GuardKind, OperationKind, OriginKind, Span, TrainerKind,
                     UsageKind, ValueKind)

@record
class Value(Record):
    """A value seen in the source.

    kind is one of
      - "literal": value holds the Python literal (tuples for lists and tuples, dicts with str keys);
      - "name": value holds a dotted qualified name such as "torch.bfloat16";
      - "range": `range(...)` of literal ints; value holds (start, stop, step);
      - "function": a function defined in the file or a lambda (e.g. the one a dataset is mapped with);
        value holds the str keys of the dict every one of its returns builds (a mapped function's
        new columns), or None when its returns are not all dict displays;
      - "unknown": reason says why (a parameter no call binds, a config read from a file, argv...).
    A model's path read off another model (`reward.config._name_or_path`) is that model's path,
    with this text. text is always the source text.
    """

    kind: ValueKind = ValueKind.UNKNOWN
    value: Any = None
    text: str = ""
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.kind != UNKNOWN

    def is_literal(self, expected: Any) -> bool:
        return self.kind == ValueKind.LITERAL and type(self.value) is type(expected) and self.value == expected


_NO_VALUE = Value()  # records are immutable: one shared default will do


@record
class Keyword(Record):
    """A keyword argument: its name, value and where it is written.

    span covers the argument (`num_labels=2`, or the `**kwargs` that supplies it); value_span the
    value's own text wherever it is written (`2`, also inside the dict literal a `**` unpacks);
    key_span, for a keyword a `**mapping` supplies, where its name is written: the dict key
    (`"num_labels"`), the keyword of `dict(num_labels=...)`/`.update(...)`, or `kw["num_labels"]`'s key.
    """

    name: str
    value: Value
    span: Optional[Span] = None
    value_span: Optional[Span] = None
    key_span: Optional[Span] = None


@record
class Operation(Record):
    """Something done to an object before the trainer is built.

    kind "call": a method call (`model.cuda()`, `tok.add_special_tokens({...})`);
    kind "set": an attribute assignment (`tok.pad_token = tok.eos_token`);
    kind "freeze": its parameters' requires_grad set to False in a loop;
    kind "passed": given as an argument to a call (name holds the callee), which may change it.
    What a local helper does to an object passed to it (`def prep(tok): tok.pad_token = ...`),
    and what the function that creates and returns an object does to it, are that object's own
    operations, with their spans inside the helper; "passed" is left for callees not followed.
    conditional: it may not run before the trainer is built (a branch, or a helper's branch).
    Dataset methods that return a new dataset (`ds.map(...)`) are not operations on the receiver:
    their results are Origins of kind "method".
    """

    kind: OperationKind
    name: str
    args: tuple[Value, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    value: Optional[Value] = None
    span: Optional[Span] = None
    conditional: bool = False


@record
class LocalClass(Record):
    """A class defined in the file, as far as the source shows it.

    ancestors: the qualified names of the classes it derives from that are not defined in the file
    (`torch.nn.Module`, `transformers.PreTrainedModel`), found through its local bases; "" for a
    base that cannot be named. members: the names its class bodies bind and the `self.x` attributes
    its methods set, its local bases' included (whether it has a `base_model_prefix`, a `modules`...).
    """

    name: str
    ancestors: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


@record
class Origin(Record):
    """Where an object comes from.

    kind: "from_pretrained", "from_config", "constructor" (a class called directly), "copy"
    (create_reference_model, deepcopy), "peft" (get_peft_model, PeftModel.from_pretrained),
    "parsed_args" (an instance filled by an argument parser), "method" (a dataset method that
    returns a new dataset: callee is the method, e.g. "map", "select", "remove_columns", and base
    the receiver's origin; callee "__getitem__" is `ds["train"]` on an object that is not a visible
    mapping, with the key in args), "none", "literal", "call" (any other call, e.g.
    `load_dataset(...)`, `Dataset.from_dict(...)`: callee is its qualified name), "function" (a
    function defined in the file or a lambda: the object itself, not its result) or "unknown". key
    identifies the run-time object: two roles with the same non-empty key are the same Python object.
    A model built in a loop over a registry is one object per entry.
    args and keywords are the call's positional and keyword arguments (keywords include those of
    a visible `**mapping`; partial says some came from a mapping that cannot be seen).
    local_class: for a "constructor" of a class defined in the file, what the file shows of it.
    A "constructor" made by `dataclasses.replace(obj, **changes)` (setup/replaced.py) has the merged
    keywords and obj's origin as base.
    class_span: for "from_pretrained"/"from_config", where the class is written: the `X` of
    `X.from_pretrained(...)`, or the argument a followed call binds to the parameter `X` stands for (a
    loader's `model_class`), or the callable a functools.partial wraps, or the element of the table row a
    loop pass bound (`for role, cls, path in ROWS`); None when no one place says.
    keywords_span: for "from_pretrained", where a keyword for this object alone is added when the call
    hands on a `**options` parameter of a followed call (a loader factory's, a registering method's):
    that call; for a `**options` a loop variable holds, the dict display or `dict(...)` of this pass's row;
    None when the keywords are the call's own.
    config: for a model built from a config (`X.from_config(c)`, a transformers class called with `c`), the
    origin of `c` when it is a config the source shows (`AutoConfig.from_pretrained(...)`, `LlamaConfig(...)`).
    """

    kind: OriginKind = OriginKind.UNKNOWN
    key: str = ""
    callee: str = ""
    class_name: str = ""
    path: Value = _NO_VALUE
    keywords: tuple[Keyword, ...] = ()
    base: Optional["Origin"] = None
    operations: tuple[Operation, ...] = ()
    span: Optional[Span] = None
    variable: str = ""
    text: str = ""
    reason: str = ""
    partial: bool = False  # some keyword arguments came from a **mapping we could not see
    args: tuple[Value, ...] = ()
    local_class: Optional[LocalClass] = None
    class_span: Optional[Span] = None
    function: Optional[FunctionShape] = None  # kind "function": its parameters and returns
    config: Optional["Origin"] = None
    keywords_span: Optional[Span] = None

    @property
    def known(self) -> bool:
        return self.kind != UNKNOWN

    def keyword(self, *names: str) -> Optional[Keyword]:
        for keyword in self.keywords:
            if keyword.name in names:
                return keyword
        return None

    def all_operations(self) -> tuple[Operation, ...]:
        """Operations on this object and on the objects it wraps or copies."""
        inherited = self.base.all_operations() if self.base is not None else ()
        return inherited + self.operations


@record
class Argument(Record):
    """One argument as written in the trainer call.

    expanded: for a `**mapping` whose every key is visible and set on every path, the keyword
    names it supplies (what the call really passes); None when they cannot all be told.
    """

    keyword: Optional[str]
    position: Optional[int]
    star: str
    text: str
    span: Span
    value_span: Span
    expanded: Optional[tuple[str, ...]] = None


@record
class RoleBinding(Record):
    """Which trainer argument fills a role (policy, reward, ...), and the object it holds."""

    role: str
    via: str  # "keyword", "positional" or "mapping" (from a visible **dict)
    keyword: Optional[str]
    position: Optional[int]
    text: str
    span: Span
    value_span: Span
    origin: Origin
    # via "mapping": where the mapping is given the value (`kw["value_model"] = <here>`), for fixes
    written_span: Optional[Span] = None
    # A list or tuple the source shows (`reward_funcs=[f, "org/rm"]`): each element's origin; None for
    # one object (or a sequence whose elements cannot all be told).
    elements: Optional[tuple[Origin, ...]] = None

    def members(self) -> tuple[Origin, ...]:
        """What the argument holds, one origin each: the elements of a visible list, else the value."""
        return self.elements if self.elements is not None else (self.origin,)


@record
class Usage(Record):
    """A method call or attribute read on the trainer object (`trainer.step(...)`)."""

    name: str
    kind: UsageKind
    span: Span


@record
class PPOSetup(Record):
    """One trainer construction: its arguments, the roles they bind and the calls on the trainer. kind: PPO
    (PPOTrainer, PPOv2Trainer) in FileSetup.setups; RLOO and GRPO (trl >= 1.0) in FileSetup.group_setups."""

    trainer: str  # "PPOTrainer", "PPOv2Trainer", "RLOOTrainer", "GRPOTrainer"
    trainer_qualname: str
    subclass: str
    code_era: str
    span: Span
    callee_span: Span
    arguments: tuple[Argument, ...]
    roles: tuple[RoleBinding, ...]
    unresolved_star: bool
    variable: str = ""
    usages: tuple[Usage, ...] = ()
    # The try/if statements around the call, outermost first, as ImportRecord.guards: an `if` on the
    # TRL version says which era the call is written for and whether it runs on the target.
    guards: tuple["ImportGuard", ...] = ()
    # A local subclass (`subclass`) whose arguments reach PPOTrainer as the file shows: no `__init__` of
    # its own, or one that hands them on (`super().__init__(*args, **kwargs)`). arguments and roles are
    # then what PPOTrainer receives (the subclass's own parameters taken out, what its forwarding call
    # adds put in), so the rules judge them as a PPOTrainer call.
    subclass_forwards: bool = False
    # Whether a keyword added to the call reaches PPOTrainer: False for a subclass whose `__init__` (or one
    # up its chain) hands no `**kwargs` on, or whose forwarding cannot be read (a fix adds none there).
    passes_keywords: bool = True
    # The keywords a forwarding subclass keeps for itself (its own parameters, keys it pops off `**kwargs`).
    own_keywords: tuple[str, ...] = ()
    kind: TrainerKind = TrainerKind.PPO

    def takes_keyword(self, name: str) -> bool:
        """Whether `name=` added to the call would reach PPOTrainer."""
        return self.passes_keywords and name not in self.own_keywords

    def role(self, name: str) -> Optional[RoleBinding]:
        for binding in self.roles:
            if binding.role == name:
                return binding
        return None

    def origin(self, name: str) -> Optional[Origin]:
        binding = self.role(name)
        return binding.origin if binding is not None else None

    def keywords(self) -> tuple[str, ...]:
        return tuple(argument.keyword for argument in self.arguments if argument.keyword)


@record
class ImportGuard(Record):
    """A `try` or `if` statement around an import, and which of its branches the import is in.

    kind "try": branch "try" (the body) or "exceptN" (the N-th handler). `catches` is what catches
    an import failure there: "ImportError" (ImportError, Exception, BaseException or a bare
    `except:`), "ModuleNotFoundError" (only that subclass: a missing name still raises), or "" (the
    handlers catch nothing an import raises). For the body it is the strongest of its handlers.
    kind "if": branch "body" or "else" (an `elif` is an `if` in the `else` branch). Where the test
    compares the installed TRL's version with a literal release, `compare` is the operator (as if
    the TRL version were on the left), `release` the literal ("0.26" or "0.26.0") and `form`
    "release" (packaging.version objects) or "tuple" (a tuple of ints from the version string);
    otherwise `compare` is "" and which branch runs is unknown.
    """

    kind: GuardKind
    statement: Span
    branch: str
    catches: str = ""
    compare: str = ""
    release: str = ""
    form: str = ""


@record
class ImportRecord(Record):
    """A `from trl... import X` or `import trl...` statement, for era and import rules."""

    module: str
    name: str  # "" for `import module`
    alias: str
    span: Span
    statement_span: Span
    guards: tuple[ImportGuard, ...] = ()  # the enclosing try/if statements, outermost first


@record
class FileSetup(Record):
    """Every PPOTrainer construction in one file, and its TRL imports.

    configs: the file's `trl` PPOConfig(...) calls that no trainer call of the file takes (a config
    module, a factory function), as their Origins (kind "constructor", the call's keywords, no
    operations: TRL checks the keywords inside the call itself).
    """

    path: str
    setups: tuple[PPOSetup, ...] = ()
    imports: tuple[ImportRecord, ...] = ()
    mentions_value_head: bool = False
    configs: tuple[Origin, ...] = ()
    refusals: tuple[ArgvRefusal, ...] = ()
    # RLOOTrainer / GRPOTrainer constructions: a rule's setup_index counts them after `setups`
    # (all_setups), so everything that reads PPO calls by index (the probe, migrate) is unchanged.
    group_setups: tuple[PPOSetup, ...] = ()
    data_files: tuple[str, ...] = ()  # the JSON/YAML files of the project it reads values from (datafiles.py)

    def all_setups(self) -> tuple[PPOSetup, ...]:
        return self.setups + self.group_setups

    def setup_at(self, index: Optional[int]) -> Optional[PPOSetup]:
        every = self.all_setups()
        return every[index] if index is not None and 0 <= index < len(every) else None


def to_json_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: to_json_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_json_dict(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): to_json_dict(v) for k, v in obj.items()}
    return obj


def from_json_dict(cls: Any, data: Any) -> Any:
    """Rebuild a dataclass (or container of them) from `to_json_dict`'s output."""
    origin = typing.get_origin(cls)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        inner = [arg for arg in typing.get_args(cls) if arg is not type(None)]
        return from_json_dict(inner[0], data)
    if origin is tuple:
        (item_type, *_rest) = typing.get_args(cls)
        return tuple(from_json_dict(item_type, item) for item in data)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return cls(**{name: from_json_dict(hints[name], value) for name, value in data.items() if name in hints})
    if cls is Any:
        return _literal_from_json(data)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return cls(data)
    return data


def _literal_from_json(data: Any) -> Any:
    # JSON has no tuples; literal values were lists or tuples in the source alike.
    if isinstance(data, list):
        return tuple(_literal_from_json(item) for item in data)
    if isinstance(data, dict):
        return {k: _literal_from_json(v) for k, v in data.items()}
    return data


def dumps(file_setup: FileSetup) -> str:
    return json.dumps(to_json_dict(file_setup), indent=None, sort_keys=False)


def loads(text: str) -> FileSetup:
    return from_json_dict(FileSetup, json.loads(text))

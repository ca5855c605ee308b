"""A launch's command line bound to the script's parser, as argparse and HfArgumentParser bind it.

The parser's options come from the source (`add_argument` calls; the fields of the dataclasses an
`HfArgumentParser`/`TrlParser` is built from) and, for TRL's own dataclasses, from the caller
(`ScriptArgv.class_fields`: PPOConfig's fields of the target release). Each option converts its
words by its type (`type=int`, a field's annotation; a field whose type no data gives reads a number
as a number and anything else as text) and `action`/`nargs`; bool fields take `--flag` alone or a
truthy/falsy word, as HfArgumentParser's string_to_bool does. What the parser would refuse (an
unrecognized argument, a word its type rejects, a missing value) is kept with the parser's own words,
for the rule that reports it. A word the launch could not expand (`$SEED` from the environment)
binds as unknown.
"""

from __future__ import annotations

from typing import Any, Optional

from ..records import Record, record
from ..types import UNKNOWN
from .model import Value


@record
class ScriptArgv(Record):
    """The command line a launch gives the script. class_fields: for dataclasses not defined in the
    file (TRL's PPOConfig), (class name, ((field, its default), ...)); a class it does not list has
    fields no data gives. where: the launch, for the values' reasons."""

    tokens: tuple[str, ...]
    where: str = "the launch"
    class_fields: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    directory: str = "."  # where the launch runs: relative paths it names (TrlParser's --config) start here

    def fields_of(self, class_name: str) -> Optional[dict[str, Any]]:
        short = class_name.rsplit(".", 1)[-1]
        for name, fields in self.class_fields:
            if name == short:
                return dict(fields)
        return None


@record
class OptionSpec(Record):
    """One option of the parser. kind: "int", "float", "str", "bool" (HfArgumentParser's bool field),
    "store_true", "store_false", "any" (no type the data gives); nargs: "", "?", "*", "+" or a count."""

    dest: str
    flags: tuple[str, ...]
    kind: str = "str"
    nargs: str = ""
    owner: str = ""  # the dataclass it fills; "" for argparse's namespace


@record
class Binding(Record):
    """The values the command line gives each option's dest (by owner), and what the parser would refuse."""

    values: tuple[tuple[str, str, Value], ...] = ()  # (owner, dest, value)
    errors: tuple[str, ...] = ()
    complete: bool = True  # every option's owner is known: an unrecognized argument is one
    # `--name value` words no known option takes, when some class's fields no data gives: the field
    # `name` of that class (a dataclass parser refuses a field two classes share), read as "any" reads
    unclaimed: tuple[tuple[str, Value], ...] = ()
    where: str = "the launch"  # the command line's source, for the values' reasons

    def of(self, owner: str) -> dict[str, Value]:
        return {dest: value for who, dest, value in self.values if who == owner}

    def unclaimed_value(self, dest: str) -> Optional[Value]:
        return dict(self.unclaimed).get(dest)


_TRUE, _FALSE = ("yes", "true", "t", "y", "1"), ("no", "false", "f", "n", "0")


def kind_of_annotation(text: str) -> str:
    inner = text.strip()
    for wrapper in ("Optional[", "typing.Optional["):
        if inner.startswith(wrapper) and inner.endswith("]"):
            inner = inner[len(wrapper):-1]
    if " | None" in inner:
        inner = inner.replace(" | None", "")
    return inner if inner in ("int", "float", "str", "bool") else "any"


def kind_of_default(default: Any) -> str:
    for kind in (bool, int, float, str):
        if type(default) is kind:
            return kind.__name__
    return "any"


def _convert(kind: str, word: str, flag: str) -> tuple[Any, Optional[str]]:
    if "$" in word:
        return UNKNOWN, None
    try:
        if kind == "int":
            return int(word), None
        if kind == "float":
            return float(word), None
    except ValueError:
        return None, f"argument {flag}: invalid {kind} value: '{word}'"
    if kind == "bool":
        if word.lower() in _TRUE:
            return True, None
        if word.lower() in _FALSE:
            return False, None
        return None, (f"argument {flag}: Truthy value expected: got {word} but expected one of yes/no, true/false, "
                      "t/f, y/n, 1/0 (case insensitive).")
    if kind == "any":
        if word.lower() in ("true", "false"):
            return word.lower() == "true", None
        for number in (int, float):
            try:
                return number(word), None
            except ValueError:
                pass
    return word, None


def bind(specs: list[OptionSpec], tokens: tuple[str, ...], complete: bool, where: str,
         dataclasses: bool = False) -> Binding:
    """The values `tokens` give `specs`' options; `complete`: the specs are all the parser has, so
    a word no option takes is an error, in argparse's words or (`dataclasses`) HfArgumentParser's."""
    by_flag = {flag: spec for spec in specs for flag in spec.flags}
    positionals = [spec for spec in specs if not spec.flags]
    values: list[tuple[str, str, Value]] = []
    errors: list[str] = []
    unrecognized: list[str] = []
    unclaimed: list[tuple[str, Value]] = []
    index = 0
    while index < len(tokens):
        word = tokens[index]
        index += 1
        if not word.startswith("-") or word == "-" or _is_number(word):
            if positionals:
                spec = positionals.pop(0)
                values.append((spec.owner, spec.dest, _value(spec, [word], word, where, errors)))
            else:
                unrecognized.append(word)
            continue
        flag, equals, attached = word.partition("=")
        spec = by_flag.get(flag) or _abbreviation(flag, by_flag)
        if spec is None:
            unrecognized.append(word)
            if complete or not flag.startswith("--"):
                continue
            # an option of a class no data gives: it takes its value with it
            words = [attached] if equals else []
            if not equals and index < len(tokens) and (not tokens[index].startswith("-") or _is_number(tokens[index])):
                words.append(tokens[index])
                index += 1
            spec = OptionSpec(flag[2:].replace("-", "_"), (flag,), "any", "", "?")
            unclaimed.append((spec.dest, _value(spec, words, " ".join([flag] + words), where, []) if words
                              else Value(UNKNOWN, None, word, f"`{word}`'s type is not known")))
            continue
        if spec.kind in ("store_true", "store_false"):
            values.append((spec.owner, spec.dest, Value("literal", spec.kind == "store_true", word)))
            continue
        words = [attached] if equals else []
        if not equals:
            wanted = {"": 1, "?": 1, "*": None, "+": None}.get(spec.nargs, int(spec.nargs) if spec.nargs.isdigit()
                                                               else 1)
            while index < len(tokens) and (wanted is None or len(words) < wanted) and \
                    (not tokens[index].startswith("-") or _is_number(tokens[index])):
                words.append(tokens[index])
                index += 1
            if not words and spec.kind == "bool":
                values.append((spec.owner, spec.dest, Value("literal", True, word)))  # `--flag`: const=True
                continue
            if not words and spec.kind == "any":  # a bool field's `--flag` alone, or a missing value
                values.append((spec.owner, spec.dest, Value(UNKNOWN, None, word, f"`{word}`'s type is not known")))
                continue
            if not words or (wanted is not None and spec.nargs not in ("", "?") and len(words) < wanted):
                errors.append(f"argument {flag}: expected {_expected(spec.nargs)}")
                continue
        text = " ".join([flag] + words)
        values.append((spec.owner, spec.dest, _value(spec, words, text, where, errors)))
    if unrecognized and complete:
        errors.append(f"Some specified arguments are not used by the HfArgumentParser: {unrecognized}" if dataclasses
                      else f"unrecognized arguments: {' '.join(unrecognized)}")
    return Binding(tuple(values), tuple(errors), complete, tuple(unclaimed), where)


def _value(spec: OptionSpec, words: list[str], text: str, where: str, errors: list[str]) -> Value:
    flag = spec.flags[0] if spec.flags else spec.dest
    converted = []
    for word in words:
        value, error = _convert(spec.kind, word, flag)
        if error:
            errors.append(error)
            return Value(UNKNOWN, None, text, error)
        if value is UNKNOWN:
            return Value(UNKNOWN, None, text, f"`{word}` is not expanded in {where}")
        converted.append(value)
    many = spec.nargs in ("*", "+") or (spec.nargs.isdigit() and spec.nargs != "1")
    return Value("literal", tuple(converted) if many else converted[0], text)


def _abbreviation(flag: str, by_flag: dict) -> Optional[OptionSpec]:
    """argparse's allow_abbrev: a unique prefix of a long option names it."""
    if not flag.startswith("--"):
        return None
    found = {id(spec): spec for name, spec in by_flag.items() if name.startswith(flag)}
    return next(iter(found.values())) if len(found) == 1 else None


def _expected(nargs: str) -> str:
    return {"+": "at least one argument", "": "one argument", "?": "one argument"}.get(
        nargs, f"{nargs} arguments")


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def dataclass_specs(owner: str, kinds: dict[str, str], defaults: dict[str, Any]) -> list[OptionSpec]:
    """The options HfArgumentParser makes of a dataclass's fields: `--name` and `--name-with-dashes`;
    a bool field also `--no_name` when it defaults to True."""
    specs = []
    for name, kind in kinds.items():
        flags = (f"--{name}",) + ((f"--{name.replace('_', '-')}",) if "_" in name else ())
        specs.append(OptionSpec(name, flags, kind, "?" if kind == "bool" else "", owner))
        if kind == "bool" and defaults.get(name) is True:
            specs.append(OptionSpec(name, (f"--no_{name}",) + ((f"--no-{name.replace('_', '-')}",) if "_" in name
                                                                 else ()), "store_false", "", owner))
    return specs

"""A mixin of resolve.Resolver: the values a command line gives the script's parser.

The command line is the launch's (`self.argv`, a ScriptArgv) or an argument list the script writes
itself and hands to the parse call (`parser.parse_args(["--lr", "1e-5"])`,
`parse_args_into_dataclasses(args=LAUNCH)`, `TrlParser(...).parse_args_and_config(args=ARGV)`): the
same words, bound the same way. Without either, nothing changes: an argument no default covers is
unknown. With one, argparse's `args.x` is what the command line binds to `x` (else its default), and
the instance an `HfArgumentParser`/`TrlParser` fills holds the command line's values for its fields,
the other fields taking the class's defaults (so the rules judge the run, not the file's defaults).
A word no class the data describes claims belongs to the one of the other classes that has the field
(HfArgumentParser refuses a field two classes share): `model_args.model_name_or_path` of TRL's
ModelConfig is the `--model_name_or_path` word (`Binding.unclaimed`).
"""

from __future__ import annotations

import os
from typing import Optional

import libcst as cst

from ..types import ValueKind
from .argv import Binding, OptionSpec, bind, dataclass_specs, kind_of_annotation, kind_of_default
from .model import Value
from .context import Context, dominates
from .facts import ActionKind, BindingKind
from .literals import NOT_LITERAL, literal

_ARGPARSE_METHODS = frozenset({"parse_args", "parse_known_args"})
_DATACLASS_PARSERS = ("HfArgumentParser", "TrlParser")
_DATACLASS_METHODS = frozenset({"parse_args_into_dataclasses", "parse_args_and_config"})
PARSE_CALLS = _ARGPARSE_METHODS | _DATACLASS_METHODS
IN_SCRIPT = "the argument list in the script"


class LaunchedValues:
    def _launched_init(self, argv) -> None:
        self.argv = argv  # argv.ScriptArgv, or None when no launch is known
        self._bindings: dict[tuple, Optional[Binding]] = {}
        # parsed-arguments origin key -> the binding whose unclaimed words fill its class's fields
        self.unclaimed_words: dict[str, Binding] = {}

    def unclaimed_word(self, receiver, attr: str) -> Optional[Value]:
        """`receiver.attr` of an instance a dataclass parser fills, its class's fields unknown: the
        value of the `--attr` word no other class claims; None when the command line names none."""
        binding = self.unclaimed_words.get(receiver.key)
        return binding.unclaimed_value(attr) if binding is not None else None

    def split_words(self, node: cst.Call, callee: str, ctx: Context, depth: int) -> Optional[tuple]:
        """`"--lr 1e-5 --seed 0".split()` (or with a literal separator) and `shlex.split(text)` of a
        text the source shows: the words, as a tuple."""
        if any(a.star or a.keyword for a in node.args):
            return None
        parts = [self.value(a.value, ctx, depth + 1) for a in node.args]
        if not all(p.kind == ValueKind.LITERAL and isinstance(p.value, str) for p in parts):
            return None
        if callee == "shlex.split" and len(parts) == 1:
            import shlex  # only for a script that splits its own argument text

            try:
                return tuple(shlex.split(parts[0].value))
            except ValueError:  # an unclosed quote: shlex raises at run time too
                return None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "split" and len(parts) <= 1 \
                and not callee.startswith(("os.", "shlex.", "re.")):
            receiver = self.value(node.func.value, ctx, depth + 1)
            if receiver.kind == ValueKind.LITERAL and isinstance(receiver.value, str) and (not parts or parts[0].value):
                return tuple(receiver.value.split(*(p.value for p in parts)))
        return None

    def parser_call(self, receiver: cst.BaseExpression, ctx: Context) -> Optional[tuple[cst.Call, Context]]:
        """The `ArgumentParser(...)`/`HfArgumentParser(...)` call a parse method is called on."""
        if isinstance(receiver, cst.Call):
            return receiver, ctx
        if isinstance(receiver, cst.Name):
            binding, scope, ambiguous = self.lookup(receiver.value, ctx)
            if binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN \
                    and isinstance(binding.value, cst.Call) and not binding.index:
                return binding.value, self.context_for(binding, scope, ctx)
        return None

    def launch_binding(self, parse: cst.Call, ctx: Context) -> Optional[Binding]:
        """What the command line binds through the parse call `parse` (`parser.parse_args()`,
        `parser.parse_args_into_dataclasses(args=LAUNCH)`): the argument list the call is given, else
        the launch's; None without either, or for a parser that cannot be read."""
        if not isinstance(parse.func, cst.Attribute) or parse.func.attr.value not in PARSE_CALLS:
            return None
        key = (id(parse), ctx.call_path)  # a list handed in as a parameter depends on the call that passed it
        if key not in self._bindings:
            self._bindings[key] = self._bind(parse, ctx)
        return self._bindings[key]

    def _bind(self, parse: cst.Call, ctx: Context) -> Optional[Binding]:
        method = parse.func.attr.value
        given = _words_argument(parse)
        # the script's own list (a name, a literal, "...".split()); None, as `def main(argv=None)` passes
        # it on, is sys.argv
        words = self.value(given, ctx) if words_given(parse) else None
        if words is not None and not (words.kind == ValueKind.LITERAL and words.value is None):
            if words.kind != ValueKind.LITERAL or not isinstance(words.value, (tuple, list)) \
                    or not all(isinstance(word, str) for word in words.value):
                return None  # a list the source does not show: what it binds is not known
            tokens, where = tuple(words.value), IN_SCRIPT
        elif given is STAR:
            return None
        elif self._assigned_argv(ctx) is not None:
            tokens, where = self._assigned_argv(ctx), "`sys.argv` as the script sets it"
        elif self.argv is None:
            return None
        else:
            tokens, where = self.argv.tokens, self.argv.where
        found = self.parser_call(parse.func.value, ctx)
        if found is None:
            return None
        parser, parser_ctx = found
        callee = self.qualname(parser.func, parser_ctx) or ""
        if method in _ARGPARSE_METHODS and callee == "argparse.ArgumentParser":
            return bind(self._argparse_specs(), tokens, method == "parse_args", where)
        if method in _DATACLASS_METHODS and callee.rsplit(".", 1)[-1] in _DATACLASS_PARSERS and parser.args:
            specs, complete = self._dataclass_specs(parser.args[0].value, parser_ctx)
            complete = complete and not _keeps_unknown_words(parse)
            if not callee.endswith("TrlParser"):
                return bind(specs, tokens, complete, where, dataclasses=True)
            bound = bind(specs + [OptionSpec("config", ("--config",), "str")], tokens, complete, where,
                         dataclasses=True)
            return _with_config_file(bound, specs, self._run_directory(where))
        return None

    def _run_directory(self, where: str) -> str:
        """Where the run starts, for the relative paths its words name: the launch's directory for the
        launch's words, else the script's own folder (the script's own words: no launch says more)."""
        if self.argv is not None and where == self.argv.where:
            return self.argv.directory
        project = getattr(self, "project", None)
        return os.path.dirname(project.path) if project is not None else "."

    def _assigned_argv(self, ctx: Context) -> Optional[tuple[str, ...]]:
        """The words after the program name of the one `sys.argv = [...]` of the module, when it runs
        before a parse at `ctx`: unconditionally in the module, above the parse there or above every call
        of the function that parses; None when the script sets sys.argv nowhere, or not in that way."""
        sets = [a for a in self.facts.actions if a.receiver == "sys" and a.subject is not None
                and self.qualname(a.subject, Context(a.scope, a.position, a.path)) in ("sys", "sys.argv")
                and (a.name == "argv" or type(a.subject) is not cst.Name)]
        if len(sets) != 1 or sets[0].kind != ActionKind.SET or sets[0].scope is not self.facts.root:
            return None  # several, or changed in place (`sys.argv += [...]`)
        assigned = sets[0]
        function = ctx.scope.function_info
        if ctx.scope is self.facts.root:
            runs_before = ctx.position is not None and assigned.position < ctx.position \
                and dominates(assigned.path, ctx.path)
        else:  # `if __name__ == "__main__": sys.argv = [...]; main()`
            calls = self.callers(function) if function is not None and ctx.scope.parent is self.facts.root else None
            runs_before = bool(calls) and all(scope is self.facts.root and assigned.position < position
                                              and dominates(assigned.path, path)
                                              for _call, scope, position, path in calls)
        words = self.value(assigned.node, Context(assigned.scope, assigned.position, assigned.path))
        if not runs_before or words.kind != ValueKind.LITERAL or not isinstance(words.value, (tuple, list)) \
                or not words.value or not all(isinstance(word, str) for word in words.value):
            return None
        return tuple(words.value[1:])

    def _argparse_specs(self) -> list[OptionSpec]:
        specs = []
        for dest, flags, keywords in self.facts.argparse_options:
            action = _literal_text(keywords.get("action"))
            nargs = keywords.get("nargs")
            nargs_value = literal(nargs) if nargs is not None else ""
            kind = "str"
            if action in ("store_true", "store_false"):
                kind = action
            elif "type" in keywords:
                kind = self.text(keywords["type"]) if self.text(keywords["type"]) in ("int", "float", "str") else "any"
            option_flags = tuple(flag for flag in flags if flag.startswith("-"))
            specs.append(OptionSpec(dest, option_flags, kind, "" if nargs_value is NOT_LITERAL else str(nargs_value)))
        return specs

    def _dataclass_specs(self, classes: cst.BaseExpression, ctx: Context) -> tuple[list[OptionSpec], bool]:
        elements = [e.value for e in classes.elements] if isinstance(classes, (cst.Tuple, cst.List)) else [classes]
        specs: list[OptionSpec] = []
        complete = True
        for element in elements:
            name = self.qualname(element, ctx) or ""
            klass = self.local_class(name, ctx)
            if klass is not None:
                kinds = {field: kind_of_annotation(self.text(klass.field_types[field]) if field in klass.field_types
                                                   else "") for field in klass.fields}
                defaults = {field: literal(node) for field, node in klass.field_defaults.items()}
                specs.extend(dataclass_specs(name, kinds, defaults))
                continue
            fields = self.argv.fields_of(name) if name and self.argv is not None else None
            if fields is None:
                complete = False  # a class whose fields no data gives: a word may be one of its fields
                continue
            specs.extend(dataclass_specs(name, {field: kind_of_default(default) for field, default in fields.items()},
                                         fields))
        return specs, complete


def words_given(parse: cst.Call) -> bool:
    """Whether the parse call is handed its own argument list rather than reading sys.argv."""
    given = _words_argument(parse)
    return given is not None and given is not STAR


def _words_argument(parse: cst.Call):
    """The argument list a parse call is handed (`args=` or the first positional); None when it reads
    sys.argv (no such argument, or `args=None`); STAR when a `*`/`**` argument may hold it."""
    for position, arg in enumerate(parse.args):
        if arg.star:
            return STAR
        if (arg.keyword is None and position == 0) or (arg.keyword is not None and arg.keyword.value == "args"):
            return None if literal(arg.value) is None else arg.value
    return None


STAR = object()


def _keeps_unknown_words(parse: cst.Call) -> bool:
    """`return_remaining_strings=True` / `fail_with_unknown_args=False`: words no field takes are no error."""
    lenient = {"return_remaining_strings": True, "fail_with_unknown_args": False}
    return any(arg.keyword is not None and arg.keyword.value in lenient
               and literal(arg.value) != (not lenient[arg.keyword.value]) for arg in parse.args)


def _literal_text(node: Optional[cst.BaseExpression]) -> str:
    value = literal(node) if node is not None else NOT_LITERAL
    return value if isinstance(value, str) else ""


def _with_config_file(bound: Binding, specs: list[OptionSpec], directory: str) -> Optional[Binding]:
    """TrlParser's `--config file.yaml`: its values replace the dataclasses' defaults and the command
    line overrides them (trl's parse_args_and_config); None (unknown) when the file cannot be read."""
    config = bound.of("").get("config")
    if config is None:
        return bound
    if config.kind != ValueKind.LITERAL or not isinstance(config.value, str):
        return None
    import yaml  # a TrlParser `--config` YAML only: a plain script's check never reads one

    try:
        with open(os.path.join(directory, config.value), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    owners = {spec.dest: spec.owner for spec in specs}
    from_file = tuple((owners.get(key), key, Value("literal", value, f"{key}: {value} ({config.value})"))
                      for key, value in data.items() if key != "env")
    known = tuple(entry for entry in from_file if entry[0] is not None)
    unclaimed = () if bound.complete else tuple((key, value) for owner, key, value in from_file if owner is None)
    # earlier values give way to later ones (Binding.of): the file first, the command line after it
    return Binding(known + bound.values, bound.errors, bound.complete, unclaimed + bound.unclaimed, bound.where)

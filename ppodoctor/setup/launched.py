"""A mixin of resolve.Resolver: the values a launch's command line gives the script's parser.

Without a launch (`self.argv` None) nothing changes: an argument no default covers is unknown. With
one, argparse's `args.x` is what the command line binds to `x` (else its default), and the instance
an `HfArgumentParser`/`TrlParser` fills holds the command line's values for its fields, the other
fields taking the class's defaults (so the rules judge the run, not the file's defaults).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..types import ValueKind
from .argv import Binding, OptionSpec, bind, dataclass_specs, kind_of_annotation, kind_of_default
from .model import Value
from .context import Context
from .facts import BindingKind
from .literals import NOT_LITERAL, literal

_ARGPARSE_METHODS = frozenset({"parse_args", "parse_known_args"})
_DATACLASS_PARSERS = ("HfArgumentParser", "TrlParser")
_DATACLASS_METHODS = frozenset({"parse_args_into_dataclasses", "parse_args_and_config"})
PARSE_CALLS = _ARGPARSE_METHODS | _DATACLASS_METHODS


class LaunchedValues:
    def _launched_init(self, argv) -> None:
        self.argv = argv  # argv.ScriptArgv, or None when no launch is known
        self._bindings: dict[int, Optional[Binding]] = {}

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
        """What the launch's command line binds through the parse call `parse` (`parser.parse_args()`,
        `parser.parse_args_into_dataclasses()`); None without a launch or a parser that cannot be read."""
        if self.argv is None or not isinstance(parse.func, cst.Attribute):
            return None
        key = id(parse)
        if key not in self._bindings:
            self._bindings[key] = self._bind(parse, ctx)
        return self._bindings[key]

    def _bind(self, parse: cst.Call, ctx: Context) -> Optional[Binding]:
        method = parse.func.attr.value
        if parse.args:
            return None  # an explicit list of words, not the command line
        found = self.parser_call(parse.func.value, ctx)
        if found is None:
            return None
        parser, parser_ctx = found
        callee = self.qualname(parser.func, parser_ctx) or ""
        where = self.argv.where
        if method in _ARGPARSE_METHODS and callee == "argparse.ArgumentParser":
            return bind(self._argparse_specs(), self.argv.tokens, method == "parse_args", where)
        if method in _DATACLASS_METHODS and callee.rsplit(".", 1)[-1] in _DATACLASS_PARSERS and parser.args:
            specs, complete = self._dataclass_specs(parser.args[0].value, parser_ctx)
            if not callee.endswith("TrlParser"):
                return bind(specs, self.argv.tokens, complete, where, dataclasses=True)
            bound = bind(specs + [OptionSpec("config", ("--config",), "str")], self.argv.tokens, complete, where,
                         dataclasses=True)
            return _with_config_file(bound, specs, self.argv.directory)
        return None

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
            fields = self.argv.fields_of(name) if name else None
            if fields is None:
                complete = False  # a class whose fields no data gives: a word may be one of its fields
                continue
            specs.extend(dataclass_specs(name, {field: kind_of_default(default) for field, default in fields.items()},
                                         fields))
        return specs, complete


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
    import os

    import yaml  # a launch that names a TrlParser YAML only: `check` of a file never reads one

    try:
        with open(os.path.join(directory, config.value), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    owners = {spec.dest: spec.owner for spec in specs}
    from_file = tuple((owners[key], key, Value("literal", value, f"{key}: {value} ({config.value})"))
                      for key, value in data.items() if key in owners and key != "env")
    # earlier values give way to later ones (Binding.of): the file first, the command line after it
    return Binding(from_file + bound.values, bound.errors, bound.complete)

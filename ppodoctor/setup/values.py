"""Expressions → Values: literals, dotted names, and what a name, a parameter, a parsed argument, a
dataclass field or another model's path (`reward.config._name_or_path`) visibly holds.

A mixin of resolve.Resolver. A value the source does not show is "unknown" with the reason, never
a default the source does not write (argparse and dataclass defaults are written: they count).
"""

from __future__ import annotations

import os
import posixpath

from typing import Any, Optional

import libcst as cst

from ..types import UNKNOWN, OriginKind, ValueKind
from .context import VARIES, Bound, Context
from .literals import NOT_LITERAL, literal
from .model import Keyword, Origin, Value
from .facts import BindingKind
from .built import PATH_CLASSES, BuiltValues
from .conditional import ConditionalResolution
from .pathvalues import PathValues

_DEPTH = 24


def _with_text(value: Value, text: str) -> Value:
    return Value(value.kind, value.value, text, value.reason)


def _unknown(text: str, reason: str) -> Value:
    return Value(UNKNOWN, None, text, reason)

# Classes whose instances hold exactly the keywords they are built with, as attributes.
NAMESPACES = frozenset({"types.SimpleNamespace", "argparse.Namespace"})



class ValueResolution(BuiltValues, ConditionalResolution, PathValues):
    def value(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Value:
        found = literal(node)
        if found is not NOT_LITERAL:
            return Value("literal", found, self.text(node))
        text = self.text(node)
        if depth > _DEPTH:
            return _unknown(text, "too deeply nested to follow")
        if isinstance(node, cst.Name):
            return _with_text(self._name_value(node, ctx, depth), text)
        if isinstance(node, cst.Attribute):
            return self._attribute_value(node, ctx, text, depth)
        if isinstance(node, cst.Subscript):
            from_data = self.ini_value(node, ctx, depth)  # `cp["paths"]["policy"]` of a configparser
            if from_data is not None:
                return from_data
            key = self.key_of(node, ctx, depth)  # `TABLE[role]`: a key the source shows elsewhere too
            if key is not NOT_LITERAL:
                target = self.element_node(node.value, ctx, key, depth)
                if target is not None:
                    return _with_text(self.value(target[0], target[1], depth + 1), text)
            return _unknown(text, f"`{text}` cannot be read off the source")
        if isinstance(node, cst.Call):
            return self._call_value(node, ctx, text, depth)
        if isinstance(node, cst.IfExp):
            return self.if_exp_value(node, ctx, text, depth)
        if isinstance(node, cst.Lambda):
            return Value("function", _returned_keys([node.body]), text)
        if isinstance(node, (cst.FormattedString, cst.BinaryOperation)):
            built = self._built_string(node, ctx, depth)
            if built is None:
                built = self._int_arithmetic(node, ctx, depth)
            if built is not None:
                return Value("literal", built, text)
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
                # `BASE_ARGS + ["--seed", "0"]`: sequences the source shows, joined (as a tuple)
                left, right = (self.value(side, ctx, depth + 1) for side in (node.left, node.right))
                if all(side.kind == ValueKind.LITERAL and isinstance(side.value, (tuple, list)) for side in (left, right)):
                    return Value("literal", tuple(left.value) + tuple(right.value), text)
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
                return _unknown(text, self.path_reason(node, ctx, depth))  # which part is not known, and why
        return _unknown(text, f"`{text}` is computed at run time")

    def _name_value(self, node: cst.Name, ctx: Context, depth: int) -> Value:
        from_loop = self.loop_var(node.value, ctx) if ctx.loop_vars else None
        if from_loop is not None:
            target = self.follow_index(from_loop.node, from_loop.index)
            if target is None:
                return _unknown("", "an element of the loop's items that cannot be told")
            return self.value(target, from_loop.ctx, depth + 1)
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is None:
            if node.value == "__file__":  # the module's own path, which Python sets
                return self.script_file(ctx, "")
            return _unknown("", f"`{node.value}` is not assigned in this file")
        if ambiguous:
            return _unknown("", f"`{node.value}` is assigned differently in different branches")
        if binding.kind == BindingKind.PARAM:
            bound = self.param(node.value, ctx) if self.binds_in(scope, ctx) else None
            if isinstance(bound, Bound):  # (a `**kwargs` parameter's Collected is no value)
                target = self.follow_index(bound.node, bound.index)
                if target is not None:
                    return self.value(target, bound.ctx, depth + 1)
                found = self.element_at(bound.node, bound.ctx, bound.index, depth)  # `main(*PATHS)`, `load(*row)`:
                # an element of a sequence bound to a name or to a loop's variable
                if found is not None:
                    return self.value(found[0], found[1], depth + 1)
                return _unknown("", f"`{node.value}` is an element of `{self.text(bound.node)}`, not followed")
            if bound == VARIES:
                return _unknown("", f"`{node.value}` is passed differently by the calls of `{scope.name}`")
            if ctx.params is not None and binding.value is not None and self.binds_in(scope, ctx):
                # Inside a followed call that did not pass it: the default applies.
                return self.value(binding.value, Context(scope.lookup_parent or scope, None), depth + 1)
            return _unknown("", f"`{node.value}` is a parameter of `{scope.name}`")
        if binding.kind == BindingKind.IMPORT:
            return Value("name", binding.qualname, "")
        if binding.kind == BindingKind.DEF and binding.function is not None:
            return Value("function", _returned_keys([n for n, _ in binding.function.returns]), "")
        if binding.kind == BindingKind.ASSIGN and binding.value is not None:
            inner = self.context_for(binding, scope, ctx)
            if binding.index:
                target = self.follow_index(binding.value, binding.index)
                if target is None:  # `cls, path = specs[role]`: an element of what another holds
                    target, inner = self.element_at(binding.value, inner, binding.index, depth) or (None, inner)
                if target is None:  # `ACTOR, CRITIC = range(2)`: an element of a sequence the source computes
                    return _sequence_element(self.value(binding.value, inner, depth + 1), binding.index) or \
                        _unknown("", f"`{node.value}` is an element of a value that cannot be followed")
                return self.value(target, inner, depth + 1)
            return self.value(binding.value, inner, depth + 1)
        return _unknown("", f"`{node.value}` is bound by a {binding.kind} statement")

    def _attribute_value(self, node: cst.Attribute, ctx: Context, text: str, depth: int) -> Value:
        qualname = self.qualname(node, ctx)
        if qualname and self.is_import_rooted(node, ctx):
            return Value("name", qualname, text)
        derived = self._derived_path(node, ctx, text, depth) or self.path_attribute(node, ctx, text, depth)
        if derived is not None:
            return derived
        attr = node.attr.value
        site = self.attribute_value_node(node, ctx, depth)
        if site is not None:
            if isinstance(site, str):
                return _unknown(text, site)
            return _with_text(self.value(site[0], site[1], depth + 1), text)
        receiver = self.origin(node.value, ctx, depth=depth + 1)
        klass = self.local_class(receiver.class_name, ctx) if receiver.kind in (OriginKind.PARSED_ARGS, OriginKind.CONSTRUCTOR) \
            else None
        if klass is not None and attr in klass.fields:
            return _with_text(self._field_value(receiver, klass, attr, depth), text)
        if receiver.kind == OriginKind.PARSED_ARGS and klass is None:
            given = self.unclaimed_word(receiver, attr)  # a field of a class no data describes
            if given is not None:
                return _with_text(given, text)
        if receiver.kind == OriginKind.CONSTRUCTOR and receiver.class_name in NAMESPACES \
                and receiver.keyword(attr) is not None:
            return _with_text(receiver.keyword(attr).value, text)  # a namespace's attributes: its keywords
        parsed = receiver.kind == OriginKind.CALL and receiver.callee.split(".")[-1] in ("parse_args", "parse_known_args")
        launched = self._argparse_launched(node.value, ctx, attr, text) if parsed else None
        if launched is not None:
            return launched
        if parsed and attr in self.facts.argparse_defaults:
            inner = self.value(self.facts.argparse_defaults[attr], Context(self.facts.root, None), depth + 1)
            return _with_text(inner, text)
        if receiver.kind == OriginKind.PARSED_ARGS or parsed:
            return _unknown(text, f"`{attr}` has no default in the source: the command line fills it")
        return _unknown(text, receiver.reason or f"`{text}` cannot be read off the source")

    def _argparse_launched(self, namespace: cst.BaseExpression, ctx: Context, attr: str, text: str) -> Optional[Value]:
        """`args.attr` under a launch: the command line's value, else argparse's default (the written
        one, False for store_true, None otherwise); None when the parse call cannot be read."""
        call = namespace if isinstance(namespace, cst.Call) else None
        if isinstance(namespace, cst.Name):
            binding, scope, ambiguous = self.lookup(namespace.value, ctx)
            if binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN and not binding.index \
                    and isinstance(binding.value, cst.Call):
                call, ctx = binding.value, self.context_for(binding, scope, ctx)
        for _hop in range(4):  # `args = parse(argv)`: the parse call a helper of the script returns
            function = self.local_function(call.func, ctx) if call is not None else None
            if function is None or len(function.returns) != 1 or not isinstance(function.returns[0][0], cst.Call):
                break
            call, ctx = function.returns[0][0], self.call_context(function, call, ctx).at(function.returns[0][1], ())
        launched = self.launch_binding(call, ctx) if call is not None else None
        if launched is None:
            return None
        given = launched.of("")
        if attr in given:
            return _with_text(given[attr], text)
        if attr in self.facts.argparse_defaults:
            return None  # the written default, read as without a launch
        for dest, _flags, keywords in self.facts.argparse_options:
            if dest == attr:
                action = literal(keywords["action"]) if "action" in keywords else None
                return Value("literal", {"store_true": False, "store_false": True}.get(action), text)
        return None

    def _field_value(self, receiver: Origin, klass, attr: str, depth: int) -> Value:
        """A dataclass field: the keyword the constructor call passes, else its written default."""
        if receiver.kind == OriginKind.PARSED_ARGS and receiver.keyword(attr) is not None:
            return receiver.keyword(attr).value  # the launch's command line names it
        if receiver.kind == OriginKind.CONSTRUCTOR:
            keyword = receiver.keyword(attr)
            if keyword is not None:
                return keyword.value
            position = klass.fields.index(attr)
            if position < len(receiver.args):
                return receiver.args[position]
            if receiver.partial:
                return _unknown("", "the constructor call passes a mapping that cannot be seen")
        if attr in klass.field_defaults:
            return self.value(klass.field_defaults[attr], Context(klass.scope, None), depth + 1)
        return _unknown("", f"`{attr}` has no default in the source")

    def _derived_path(self, node: cst.Attribute, ctx: Context, text: str, depth: int) -> Optional[Value]:
        """`model.config._name_or_path` and the like: the path the model was loaded from."""
        if node.attr.value not in ("_name_or_path", "name_or_path"):
            return None
        receiver = node.value
        if isinstance(receiver, cst.Attribute) and receiver.attr.value == "config":
            receiver = receiver.value
        if self.is_import_rooted(receiver, ctx):
            return None
        origin = self.origin(receiver, ctx, depth=depth + 1)
        while origin.kind in (OriginKind.COPY, OriginKind.PEFT, OriginKind.METHOD) and origin.base is not None:
            origin = origin.base
        if origin.kind in (OriginKind.FROM_PRETRAINED, OriginKind.FROM_CONFIG) and origin.path.known:
            return _with_text(origin.path, text)
        return _unknown(text, origin.reason or f"the path `{text}` names is not visible")

    def _call_value(self, node: cst.Call, ctx: Context, text: str, depth: int) -> Value:
        callee = self.qualname(node.func, ctx) or ""
        if callee == "dict" and not any(a.star for a in node.args):
            items = {a.keyword.value: self.value(a.value, ctx, depth + 1) for a in node.args if a.keyword}
            if all(v.kind == ValueKind.LITERAL for v in items.values()) and len(items) == len(node.args):
                return Value("literal", {k: v.value for k, v in items.items()}, text)
        if callee == "range" and 1 <= len(node.args) <= 3 and not any(a.keyword or a.star for a in node.args):
            bounds = [self.value(a.value, ctx, depth + 1) for a in node.args]
            if all(b.kind == ValueKind.LITERAL and type(b.value) is int for b in bounds):
                start, stop, step = ([0] if len(bounds) == 1 else []) + [b.value for b in bounds] + \
                    ([1] if len(bounds) < 3 else [])
                return Value("range", (start, stop, step), text)
        if callee in PATH_CLASSES | {"str", "os.fspath"} and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star:
            inner = self.value(node.args[0].value, ctx, depth + 1)  # Path("models"), str(path): the string
            if inner.kind == ValueKind.LITERAL and isinstance(inner.value, str):
                return Value("literal", inner.value, text)
            if inner.kind == ValueKind.UNKNOWN and inner.reason:
                return _unknown(text, inner.reason)  # the path's own reason: what is not known in it
        if callee in ("os.environ.get", "os.getenv") and len(node.args) == 2 \
                and not any(a.keyword or a.star for a in node.args):
            # What the script reads on this machine: the variable when it is set here, else its default
            # (the environment that runs `check` is the one the run starts from, as for a shell launcher).
            name, default = (self.value(a.value, ctx, depth + 1) for a in node.args)
            if name.kind == ValueKind.LITERAL and isinstance(name.value, str) and default.kind == ValueKind.LITERAL:
                return Value("literal", os.environ.get(name.value, default.value), text)
        if callee == "os.path.join" and node.args and not any(a.keyword or a.star for a in node.args):
            parts = [self.value(a.value, ctx, depth + 1) for a in node.args]
            if all(p.kind == ValueKind.LITERAL and isinstance(p.value, str) for p in parts):
                return Value("literal", posixpath.join(*(p.value for p in parts)), text)
        from_path = self.path_call(node, ctx, callee, text, depth)  # `Path(__file__).resolve()`
        if from_path is not None:
            return from_path
        from_data = self.ini_value(node, ctx, depth)  # `cp.get("paths", "policy")`, `section.getint("seed")`
        if from_data is not None:
            return from_data
        words = self.split_words(node, callee, ctx, depth)
        if words is not None:
            return Value("literal", words, text)
        if callee == "len" and len(node.args) == 1 and not node.args[0].keyword:
            inner = self.value(node.args[0].value, ctx, depth + 1)
            if inner.kind == ValueKind.LITERAL and isinstance(inner.value, (tuple, dict, str)):
                return Value("literal", len(inner.value), text)
        function = self.local_function(node.func, ctx)
        inner = self.call_context(function, node, ctx) if function is not None and function.returns \
            and depth < _DEPTH else None
        live = self.live_returns(function, inner, depth) if inner is not None else ()
        if len(live) == 1:
            # a helper of the script returning a value (`ckpt.path("policy")` -> str(self.root / name)),
            # or the one return its branches leave for these arguments (branches.py)
            returned, position = live[0]
            found = self.value(returned, inner.at(position, ()), depth + 1)
            if found.kind == ValueKind.LITERAL:
                return Value("literal", found.value, text)
        return _unknown(text, f"the result of `{callee or self.text(node.func)}(...)` is computed at run time")

    def _parsed_args(self, parser: cst.BaseExpression, ctx: Context, index: Any, text: str, depth: int,
                     call: Optional[cst.Call] = None) -> Origin:
        parser_node = (parser, ctx) if isinstance(parser, cst.Call) else None
        if isinstance(parser, cst.Name):
            binding, scope, ambiguous = self.lookup(parser.value, ctx)
            if binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN:
                parser_node = (binding.value, self.context_for(binding, scope, ctx))
        if parser_node is not None and isinstance(parser_node[0], cst.Call) and parser_node[0].args \
                and isinstance(index, int):
            parser_call, parser_ctx = parser_node
            classes = parser_call.args[0].value
            elements = classes.elements if isinstance(classes, (cst.Tuple, cst.List)) else None
            chosen = elements[index].value if elements is not None and index < len(elements) else \
                (classes if elements is None and index == 0 else None)
            if chosen is not None:
                class_name = self.qualname(chosen, parser_ctx)
                launched = self.launch_binding(call, ctx) if call is not None else None
                key = f"parsed:{text}:{index}"
                if launched is not None and (self.local_class(class_name, parser_ctx) is not None
                                             or (self.argv is not None and self.argv.fields_of(class_name) is not None)):
                    # The command line fills the fields it names; the others keep their defaults.
                    span = self.span(call)
                    keywords = tuple(Keyword(name, value, span) for name, value in launched.of(class_name).items())
                    return Origin("parsed_args", key=key, class_name=class_name, text=text,
                                  keywords=keywords, span=span, reason=f"filled from {launched.where}")
                if launched is not None:
                    self.unclaimed_words[key] = launched  # read field by field (unclaimed_word)
                return Origin("parsed_args", key=key, class_name=class_name, text=text,
                              partial=True, reason="filled from the command line")
        return Origin(reason="filled by an argument parser that cannot be followed", text=text)

    # --- arguments of a call ----------------------------------------------------------------
    def positional_values(self, call: cst.Call, ctx: Context, depth: int = 0) -> tuple[Value, ...]:
        return tuple(self.value(a.value, ctx, depth + 1) for a in call.args if a.keyword is None and not a.star)

    def positional_values_of(self, pairs: list, depth: int = 0) -> tuple[Value, ...]:
        """positional_values over (argument, its context) pairs (a partial's bound ones first)."""
        return tuple(self.value(a.value, actx, depth + 1) for a, actx in pairs if a.keyword is None and not a.star)

    def keywords(self, call: cst.Call, ctx: Context, depth: int = 0) -> tuple[tuple[Keyword, ...], bool]:
        """A call's keyword arguments, including visible `**mapping`s; and whether some were hidden."""
        keywords: list[Keyword] = []
        partial = False
        for arg in call.args:
            if arg.keyword is not None or arg.star == "**":
                partial = self._keyword_items(arg, ctx, depth, keywords) or partial
        return tuple(keywords), partial

    def keywords_of(self, pairs: list, depth: int = 0) -> tuple[tuple[Keyword, ...], bool]:
        """keywords over (argument, its context) pairs; a later keyword of the same name replaces an
        earlier one in its place (a call's keyword overrides the one a functools.partial bound)."""
        keywords: list[Keyword] = []
        partial = False
        for arg, ctx in pairs:
            if arg.keyword is not None or arg.star == "**":
                partial = self._keyword_items(arg, ctx, depth, keywords) or partial
        merged: dict[str, Keyword] = {}
        for keyword in keywords:
            merged[keyword.name] = keyword  # the last one, in the first one's place
        return tuple(merged.values()), partial

    def _keyword_items(self, arg: cst.Arg, ctx: Context, depth: int, keywords: list) -> bool:
        """Appends the keywords `arg` passes (`name=value`, or a `**mapping`'s visible items); True when a
        mapping hides some."""
        if arg.keyword is not None:
            keywords.append(Keyword(arg.keyword.value, self.value(arg.value, ctx, depth + 1), self.span(arg),
                                    self.span(arg.value)))
            return False
        view = self.mapping_view(arg.value, ctx, depth + 1)
        if view is None:
            return True
        span = self.span(arg)
        for name, entry in view.items.items():
            value = self.value(entry.node, entry.ctx, depth + 1) if entry.certain else \
                _unknown(self.text(entry.node), f"`{name}` is set only on some paths")
            # The value's own span and its key's, where they are written (a dict literal's entry,
            # `dict(name=...)`, `kw["name"] = ...`), for fixes that edit them there.
            keywords.append(Keyword(name, value, span, self._entry_value_span(entry) if entry.certain else None,
                                    self.span(entry.key_at) if entry.certain and entry.key_at is not None
                                    else None))
        return not view.complete

    def _entry_value_span(self, entry):
        """Where an entry's value is written: a loop variable (`kw[name] = value` over `(name, value)`
        pairs) is the element this pass bound, not the loop's name, which every pass shares."""
        node = entry.node
        bound = self.loop_var(node.value, entry.ctx) if isinstance(node, cst.Name) and entry.ctx.loop_vars else None
        if bound is not None:
            node = self.follow_index(bound.node, bound.index)
        return self.span(node) if node is not None else None


def _sequence_element(whole: Value, index: tuple) -> Optional[Value]:
    """Element `index` of a known sequence value (a literal tuple or list, a `range`), or None."""
    found = range(*whole.value) if whole.kind == ValueKind.RANGE else whole.value if whole.kind == ValueKind.LITERAL \
        else None
    for key in index:
        if not isinstance(found, (tuple, list, range)) or type(key) is not int or not -len(found) <= key < len(found):
            return None
        found = found[key]
    return Value("literal", found, repr(found))


def _returned_keys(returns: list) -> Optional[tuple[str, ...]]:
    """The string keys every returned dict display builds (a mapped function's new columns), if all do."""
    keys: list[str] = []
    for node in returns:
        if not isinstance(node, cst.Dict) or not node.elements:
            return None
        for item in node.elements:
            key = literal(item.key) if isinstance(item, cst.DictElement) else NOT_LITERAL
            if not isinstance(key, str):
                return None
            if key not in keys:
                keys.append(key)
    return tuple(keys) if returns else None

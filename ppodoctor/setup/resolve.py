"""Names → where their objects come from.

Follows a name to its assignment in the same scope (or the enclosing module), through plain
aliases, tuple unpacking, self-returning methods (`.to()`, `.cuda()`), copies, PEFT wrapping and
small local functions that return a model. Whatever cannot be followed becomes an Origin or Value
of kind "unknown" with the reason, never a guess.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import libcst as cst

from .model import UNKNOWN, Keyword, Operation, Origin, Span, Value
from .scopes import Binding, BranchPath, FunctionInfo, ModuleFacts, Position, Scope, dotted_name

# Methods that return the object they were called on (nn.Module semantics).
SELF_RETURNING = frozenset({"to", "cuda", "cpu", "half", "float", "bfloat16", "double", "eval", "train",
                            "requires_grad_", "to_empty"})
PARSER_METHODS = frozenset({"parse_args_into_dataclasses", "parse_args_and_config", "parse_yaml_file",
                            "parse_json_file", "parse_dict"})
MAX_DEPTH = 24


@dataclass(frozen=True)
class Context:
    scope: Scope
    position: Optional[Position]
    path: BranchPath = ()
    params: Optional[tuple[tuple[str, Any], ...]] = None  # (name, (node, Context)) when inside a call
    call_path: str = ""


def dominates(binding_path: BranchPath, use_path: BranchPath) -> bool:
    return use_path[: len(binding_path)] == binding_path


class Resolver:
    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self._active: set = set()

    # --- spans and text -------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        code_range = self.facts.range(node)
        return Span(code_range.start.line, code_range.start.column + 1, code_range.end.line,
                    code_range.end.column + 1)

    def text(self, node: cst.CSTNode) -> str:
        return self.facts.text(node)

    # --- bindings -------------------------------------------------------------------------
    def lookup(self, name: str, ctx: Context) -> tuple[Optional[Binding], Optional[Scope], bool]:
        """The binding a use of `name` sees, its scope, and whether that is ambiguous."""
        scope, position, path = ctx.scope, ctx.position, ctx.path
        while scope is not None:
            candidates = scope.bindings.get(name, [])
            before = [b for b in candidates if position is None or b.position < position]
            if before:
                before.sort(key=lambda b: b.position)
                last = before[-1]
                ambiguous = len(before) > 1 and not dominates(last.path, path)
                return last, scope, ambiguous
            if candidates and scope.kind == "function":
                return None, scope, False
            scope, position, path = scope.lookup_parent, None, ()
        return None, None, False

    def _context_for(self, binding: Binding, scope: Scope, ctx: Context) -> Context:
        same = scope is ctx.scope
        return Context(scope, binding.position, binding.path, ctx.params if same else None,
                       ctx.call_path if same else "")

    def _param(self, name: str, ctx: Context) -> Optional[tuple[cst.BaseExpression, Context]]:
        for param_name, bound in ctx.params or ():
            if param_name == name:
                return bound
        return None

    # --- qualified names ------------------------------------------------------------------
    def qualname(self, node: cst.BaseExpression, ctx: Context) -> str:
        if isinstance(node, cst.Attribute):
            inner = self.qualname(node.value, ctx)
            return f"{inner}.{node.attr.value}" if inner else ""
        if not isinstance(node, cst.Name):
            return ""
        binding, scope, _ambiguous = self.lookup(node.value, ctx)
        if binding is None:
            for module in self.facts.star_modules:
                if module.split(".")[0] == "trl":
                    return f"{module}.{node.value}"
            return node.value
        if binding.kind == "import":
            return binding.qualname
        if binding.kind in ("class", "def"):
            return f"<local>.{node.value}"
        if binding.kind == "assign" and binding.value is not None and not binding.index:
            key = ("qualname", id(binding))
            if key in self._active:
                return ""
            self._active.add(key)
            try:
                return self.qualname(binding.value, self._context_for(binding, scope, ctx))
            finally:
                self._active.discard(key)
        return ""

    def local_class(self, qualname: str, ctx: Context):
        if not qualname.startswith("<local>."):
            return None
        binding, _scope, _amb = self.lookup(qualname.split(".", 1)[1], ctx)
        return binding.klass if binding is not None else None

    # --- values ---------------------------------------------------------------------------
    def value(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Value:
        text = self.text(node)
        literal = _literal(node)
        if literal is not _NOT_LITERAL:
            return Value("literal", literal, text)
        if depth > MAX_DEPTH:
            return Value(UNKNOWN, None, text)
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous:
                return Value(UNKNOWN, None, text)
            if binding.kind == "param":
                bound = self._param(node.value, ctx)
                if bound is not None:
                    return dataclasses.replace(self.value(bound[0], bound[1], depth + 1), text=text)
                if ctx.params is not None and binding.value is not None:
                    # Inside a followed call that did not pass it: the default applies.
                    default = self.value(binding.value, Context(scope.lookup_parent or scope, None), depth + 1)
                    return dataclasses.replace(default, text=text)
                return Value(UNKNOWN, None, text)
            if binding.kind == "import":
                return Value("name", binding.qualname, text)
            if binding.kind == "assign" and binding.value is not None:
                inner = self._indexed_value(binding, self._context_for(binding, scope, ctx), depth)
                return dataclasses.replace(inner, text=text)
            return Value(UNKNOWN, None, text)
        if isinstance(node, cst.Attribute):
            return self._attribute_value(node, ctx, text, depth)
        if isinstance(node, cst.Call) and dotted_name(node.func) == "dict" and not any(a.star for a in node.args):
            items = {a.keyword.value: self.value(a.value, ctx, depth + 1) for a in node.args if a.keyword}
            if all(v.kind == "literal" for v in items.values()) and len(items) == len(node.args):
                return Value("literal", {k: v.value for k, v in items.items()}, text)
        return Value(UNKNOWN, None, text)

    def _indexed_value(self, binding: Binding, ctx: Context, depth: int) -> Value:
        node = binding.value
        for i in binding.index:
            if isinstance(node, (cst.Tuple, cst.List)) and i < len(node.elements):
                node = node.elements[i].value
            else:
                return Value(UNKNOWN, None, self.text(binding.value))
        return self.value(node, ctx, depth + 1)

    def _attribute_value(self, node: cst.Attribute, ctx: Context, text: str, depth: int) -> Value:
        qualname = self.qualname(node, ctx)
        root = node.value
        while isinstance(root, cst.Attribute):
            root = root.value
        if qualname and isinstance(root, cst.Name):
            binding, _scope, _amb = self.lookup(root.value, ctx)
            if binding is not None and binding.kind == "import":
                return Value("name", qualname, text)
        attr = node.attr.value
        if isinstance(node.value, cst.Name):
            receiver = self.origin(node.value, ctx, depth=depth + 1)
            klass = self.local_class(receiver.class_name, ctx) if receiver.kind == "parsed_args" else None
            if klass is not None and attr in klass.field_defaults:
                inner = self.value(klass.field_defaults[attr], Context(klass.scope, None), depth + 1)
                return dataclasses.replace(inner, text=text)
            parsed = receiver.kind == "call" and receiver.callee.split(".")[-1] in ("parse_args", "parse_known_args")
            if parsed and attr in self.facts.argparse_defaults:
                inner = self.value(self.facts.argparse_defaults[attr], Context(self.facts.root, None), depth + 1)
                return dataclasses.replace(inner, text=text)
        return Value(UNKNOWN, None, text)

    # --- keyword arguments ----------------------------------------------------------------
    def keywords(self, call: cst.Call, ctx: Context, depth: int = 0) -> tuple[tuple[Keyword, ...], bool]:
        """A call's keyword arguments, including visible `**mapping`s; and whether some were hidden."""
        keywords: list[Keyword] = []
        partial = False
        for arg in call.args:
            if arg.keyword is not None:
                keywords.append(Keyword(arg.keyword.value, self.value(arg.value, ctx, depth + 1), self.span(arg)))
            elif arg.star == "**":
                expanded = self.expand_mapping(arg.value, ctx, depth + 1)
                if expanded is None:
                    partial = True
                    continue
                for name, value_node, value_ctx in expanded:
                    keywords.append(Keyword(name, self.value(value_node, value_ctx, depth + 1), self.span(arg)))
        return tuple(keywords), partial

    def expand_mapping(self, node: cst.BaseExpression, ctx: Context, depth: int = 0):
        """The (key, value node, context) items of a `**mapping` whose contents are visible."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, cst.Dict):
            items = []
            for element in node.elements:
                if not isinstance(element, cst.DictElement):
                    return None
                key = _literal(element.key)
                if not isinstance(key, str):
                    return None
                items.append((key, element.value, ctx))
            return items
        if isinstance(node, cst.Call) and dotted_name(node.func) == "dict":
            if any(arg.keyword is None for arg in node.args):
                return None
            return [(arg.keyword.value, arg.value, ctx) for arg in node.args]
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous or binding.kind != "assign" or binding.index or binding.value is None:
                if binding is not None and binding.kind == "param":
                    bound = self._param(node.value, ctx)
                    if bound is not None:
                        return self.expand_mapping(bound[0], bound[1], depth + 1)
                return None
            if self._mutated_after(node.value, scope, binding, ctx):
                return None
            return self.expand_mapping(binding.value, self._context_for(binding, scope, ctx), depth + 1)
        return None

    def _mutated_after(self, name: str, scope: Scope, binding: Binding, ctx: Context) -> bool:
        # `kwargs["x"] = ...` or `kwargs.update(...)` between assignment and use hides contents.
        for action in self.facts.actions:
            if action.receiver == name and action.scope is scope and action.kind == "call" \
                    and action.name in ("update", "setdefault", "pop") and action.position > binding.position:
                return True
        for stmt_binding in scope.bindings.get(name, []):
            if stmt_binding is not binding and stmt_binding.position > binding.position:
                return True
        return False

    # --- origins --------------------------------------------------------------------------
    def origin(self, node: cst.BaseExpression, ctx: Context, index: tuple[int, ...] = (), depth: int = 0) -> Origin:
        key = (id(node), id(ctx.scope), ctx.position, index, ctx.call_path, repr(ctx.params))
        if depth > MAX_DEPTH or key in self._active:
            return Origin(reason="too deeply nested to follow", text=self.text(node))
        self._active.add(key)
        try:
            return self._origin(node, ctx, index, depth)
        finally:
            self._active.discard(key)

    def _origin(self, node: cst.BaseExpression, ctx: Context, index: tuple[int, ...], depth: int) -> Origin:
        text = self.text(node)
        if isinstance(node, (cst.Tuple, cst.List)) and index:
            if index[0] < len(node.elements) and not isinstance(node.elements[index[0]], cst.StarredElement):
                return self.origin(node.elements[index[0]].value, ctx, index[1:], depth + 1)
            return Origin(reason="element of a tuple that cannot be followed", text=text)
        if isinstance(node, cst.Name):
            if node.value == "None" and not index:
                return Origin("none", text=text, span=self.span(node))
            return self._name_origin(node, ctx, index, depth)
        if isinstance(node, cst.Call):
            return self._call_origin(node, ctx, index, depth)
        if index:
            return Origin(reason="element of a value that cannot be followed", text=text)
        if _literal(node) is not _NOT_LITERAL:
            return Origin("literal", key=self._key(node, ctx), text=text, span=self.span(node))
        return Origin(reason=f"`{text}` cannot be followed", key=f"expr:{ctx.scope.name}:{text}", text=text)

    def _key(self, node: cst.CSTNode, ctx: Context) -> str:
        line, column = self.facts.position(node)
        return f"{ctx.call_path}@{line}:{column}"

    def _name_origin(self, node: cst.Name, ctx: Context, index: tuple[int, ...], depth: int) -> Origin:
        name = node.value
        binding, scope, ambiguous = self.lookup(name, ctx)
        if binding is None:
            return Origin(reason=f"`{name}` is not assigned in this file", key=f"global:{name}", text=name)
        if ambiguous:
            return Origin(reason=f"`{name}` is assigned differently in different branches", text=name)
        if binding.kind == "param":
            bound = self._param(name, ctx)
            if bound is not None:
                return _named(self.origin(bound[0], bound[1], index, depth + 1), name)
            if ctx.params is not None and binding.value is not None:
                default_scope = scope.lookup_parent or scope
                return _named(self.origin(binding.value, Context(default_scope, None), index, depth + 1), name)
            return Origin(reason=f"`{name}` is a parameter of `{scope.name}`", key=f"param:{scope.name}:{name}",
                          text=name, variable=name)
        if binding.kind == "assign" and binding.value is not None:
            inner_ctx = self._context_for(binding, scope, ctx)
            return _named(self.origin(binding.value, inner_ctx, binding.index + index, depth + 1), name)
        if binding.kind == "import":
            return Origin(reason=f"`{name}` is imported from `{binding.qualname}`", key=f"import:{binding.qualname}",
                          text=name)
        return Origin(reason=f"`{name}` is bound by a {binding.kind} statement", text=name)

    def _call_origin(self, call: cst.Call, ctx: Context, index: tuple[int, ...], depth: int) -> Origin:
        func, text = call.func, self.text(call)
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        if method in SELF_RETURNING and not index:
            base = self.origin(func.value, ctx, (), depth + 1)
            args = tuple(self.value(a.value, ctx, depth + 1) for a in call.args if a.keyword is None and not a.star)
            keywords, _partial = self.keywords(call, ctx, depth)
            operation = Operation("call", method, args, keywords, None, self.span(call))
            return dataclasses.replace(base, operations=base.operations + (operation,))
        if method in PARSER_METHODS and index:
            return self._parsed_args(func.value, ctx, index[0], text, depth)
        callee = self.qualname(func, ctx) or dotted_name(func)
        last = callee.rsplit(".", 1)[-1] if callee else method
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords, partial = self.keywords(call, ctx, depth)
        common = dict(key=self._key(call, ctx), callee=callee, keywords=keywords, span=self.span(call), text=text,
                      partial=partial)
        if index and not callee.startswith("<local>."):
            return Origin(reason=f"element of the result of `{callee or text}` cannot be followed", text=text)
        if method in ("from_pretrained", "from_config", "_from_config"):
            class_name = self.qualname(func.value, ctx)
            if method == "from_pretrained" and class_name.rsplit(".", 1)[-1].startswith("Peft") and positional:
                base = self.origin(positional[0], ctx, (), depth + 1)
                return Origin("peft", class_name=base.class_name or class_name, base=base, **common)
            path = self._path(call, positional, ctx, depth, "config" if method != "from_pretrained" else
                              "pretrained_model_name_or_path")
            kind = "from_pretrained" if method == "from_pretrained" else "from_config"
            return Origin(kind, class_name=class_name, path=path, **common)
        if last in ("create_reference_model", "deepcopy") and positional:
            base = self.origin(positional[0], ctx, (), depth + 1)
            return Origin("copy", class_name=base.class_name, base=base, **common)
        if last == "get_peft_model" and positional:
            base = self.origin(positional[0], ctx, (), depth + 1)
            return Origin("peft", class_name=base.class_name, base=base, **common)
        function = self._local_function(func, ctx)
        if function is not None:
            return self._function_origin(function, call, ctx, index, depth)
        if last[:1].isupper():
            path = self._path(call, positional, ctx, depth, "")
            return Origin("constructor", class_name=callee, path=path, **common)
        return Origin("call", reason=f"the result of `{callee or method}(...)` is not followed", **common)

    def _path(self, call: cst.Call, positional: list, ctx: Context, depth: int, keyword: str) -> Value:
        if positional:
            return self.value(positional[0], ctx, depth + 1)
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return self.value(arg.value, ctx, depth + 1)
        return Value()

    def _parsed_args(self, parser: cst.BaseExpression, ctx: Context, index: int, text: str, depth: int) -> Origin:
        parser_origin_node = None
        if isinstance(parser, cst.Name):
            binding, scope, ambiguous = self.lookup(parser.value, ctx)
            if binding is not None and not ambiguous and binding.kind == "assign":
                parser_origin_node = (binding.value, self._context_for(binding, scope, ctx))
        if parser_origin_node is not None and isinstance(parser_origin_node[0], cst.Call):
            parser_call, parser_ctx = parser_origin_node
            if parser_call.args and isinstance(parser_call.args[0].value, (cst.Tuple, cst.List)):
                elements = parser_call.args[0].value.elements
                if index < len(elements):
                    class_name = self.qualname(elements[index].value, parser_ctx)
                    return Origin("parsed_args", key=f"parsed:{text}:{index}", class_name=class_name, text=text,
                                  partial=True, reason="filled from the command line")
        return Origin(reason="filled by an argument parser that cannot be followed", text=text)

    def _local_function(self, func: cst.BaseExpression, ctx: Context) -> Optional[FunctionInfo]:
        if not isinstance(func, cst.Name):
            return None
        binding, _scope, ambiguous = self.lookup(func.value, ctx)
        if binding is None or ambiguous or binding.kind != "def":
            return None
        return binding.function

    def _function_origin(self, function: FunctionInfo, call: cst.Call, ctx: Context, index: tuple[int, ...],
                         depth: int) -> Origin:
        if not function.returns:
            return Origin(reason=f"`{function.name}` returns nothing that can be followed", text=self.text(call))
        params = []
        positional = [a for a in call.args if a.keyword is None and not a.star]
        names = [name for name, _default in function.params]
        for i, arg in enumerate(positional):
            if i < len(names):
                params.append((names[i], (arg.value, ctx)))
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in names:
                params.append((arg.keyword.value, (arg.value, ctx)))
        line, column = self.facts.position(call)
        inner = Context(function.scope, None, (), tuple(params), f"{ctx.call_path}/{line}:{column}")
        origins = [self.origin(node, dataclasses.replace(inner, position=position), index, depth + 1)
                   for node, position in function.returns]
        first = origins[0]
        if all((o.kind, o.class_name, o.key) == (first.kind, first.class_name, first.key) for o in origins):
            return first
        if all((o.kind, o.class_name) == (first.kind, first.class_name) and o.known for o in origins):
            return dataclasses.replace(first, key=self._key(call, ctx))
        return Origin(reason=f"`{function.name}` returns different things on different paths", text=self.text(call))


def _named(origin: Origin, name: str) -> Origin:
    return origin if origin.variable else dataclasses.replace(origin, variable=name)


_NOT_LITERAL = object()


def _literal(node: cst.CSTNode) -> Any:
    """The Python value of a literal expression, or _NOT_LITERAL."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - libcst raises for unusual prefixes
            return _NOT_LITERAL
        return value if isinstance(value, str) else _NOT_LITERAL
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.evaluated_value
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else _NOT_LITERAL
    if isinstance(node, (cst.Tuple, cst.List)):
        items = [_literal(e.value) for e in node.elements if not isinstance(e, cst.StarredElement)]
        if len(items) == len(node.elements) and all(i is not _NOT_LITERAL for i in items):
            return tuple(items)
        return _NOT_LITERAL
    if isinstance(node, cst.Dict):
        result = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return _NOT_LITERAL
            key, value = _literal(element.key), _literal(element.value)
            if not isinstance(key, str) or value is _NOT_LITERAL:
                return _NOT_LITERAL
            result[key] = value
        return result
    return _NOT_LITERAL

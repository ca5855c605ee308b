"""A function's shape as the source writes it: its parameters and what its returns visibly give back.

RLOOTrainer and GRPOTrainer call every reward function with keywords only
(`reward_func(prompts=..., completions=..., completion_ids=..., **columns)`) and iterate what it
returns: whether a function defined in the file can take that call, and whether it returns a list,
is read here, off its `def` or `lambda` alone (no call is followed, nothing is guessed), and for a
`functools.partial` of one, off that minus what the partial binds.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, Optional, Union

import libcst as cst

from ..types import OriginKind, ParameterKind, ReturnKind, Span
from .model import Origin
from .shapes import FunctionParameter, FunctionShape

SpanOf = Callable[[cst.CSTNode], Span]
# Calls whose result is one number whatever their arguments.
_SCALAR_CALLS = frozenset({"float", "int", "len", "round"})
_SCALAR_METHODS = frozenset({"item", "mean", "sum"})  # x.item(), tensor.mean(), tensor.sum(): one number
_POSITIONAL = (ParameterKind.POSITIONAL_ONLY, ParameterKind.POSITIONAL_OR_KEYWORD)


def def_origin(name: str, key: str, node: cst.FunctionDef, span_of: SpanOf) -> Origin:
    """The Origin of a function defined with `def` (the function object itself, not its result)."""
    return Origin(OriginKind.FUNCTION, key=key, text=name, variable=name,
                  reason=f"`{name}` is a function defined in this file", function=shape(node, span_of))


def lambda_function_origin(node: cst.Lambda, key: str, text: str, span_of: SpanOf) -> Origin:
    return Origin(OriginKind.FUNCTION, key=key, text=text, reason="a lambda", function=shape(node, span_of))


def partial_shape(function: FunctionShape, positional: int, keywords: frozenset) -> Optional[FunctionShape]:
    """What `functools.partial(function, <positional> arguments, <keywords>=...)` can be called with, as
    `inspect.signature` gives it: the first `positional` positional parameters are filled; a parameter
    bound by keyword gets a default, and it and every named parameter after it can only be passed by
    keyword from then on. None when the partial binds more positions than the function takes (its every
    call fails, which is no reward function's shape)."""
    ordered = [p for p in function.parameters if p.kind in _POSITIONAL]
    if positional > len(ordered) and not any(p.kind == ParameterKind.VAR_POSITIONAL for p in function.parameters):
        return None
    filled = {p.name for p in ordered[:positional]}
    parameters, keyword_only = [], False
    for parameter in function.parameters:
        if parameter.name in filled:
            continue
        named = parameter.kind in (ParameterKind.POSITIONAL_OR_KEYWORD, ParameterKind.KEYWORD_ONLY)
        keyword_only = keyword_only or named and parameter.name in keywords
        if named and keyword_only:
            parameter = FunctionParameter(parameter.name, ParameterKind.KEYWORD_ONLY,
                                          parameter.has_default or parameter.name in keywords)
        parameters.append(parameter)
    return dataclasses.replace(function, parameters=tuple(parameters))


def shape(node: Union[cst.FunctionDef, cst.Lambda], span_of: SpanOf) -> FunctionShape:
    params = node.params
    parameters = tuple(_parameters(params))
    listed = [p for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            listed.append(star)
    last = max(listed, key=lambda p: (span_of(p).line, span_of(p).column), default=None)
    last_span = _parameter_span(last, span_of) if last is not None else None
    if isinstance(node, cst.Lambda):
        return FunctionShape("<lambda>", parameters, (_return_kind(node.body),), False, last_span, span_of(node))
    return FunctionShape(node.name.value, parameters, tuple(_returns(node)), node.asynchronous is not None,
                         last_span, span_of(node.name))


def _parameter_span(param: cst.Param, span_of: SpanOf) -> Span:
    """The whole parameter, `name: annotation = default`: libcst's syntactic range of a Param is its star
    and name alone, and text added after a parameter goes after its default."""
    whole = span_of(param)
    tail = param.default if param.default is not None else \
        param.annotation.annotation if param.annotation is not None else None
    if tail is None:
        return whole
    end = span_of(tail.rpar[-1] if tail.rpar else tail)  # a parenthesised default ends at its `)`
    return Span(whole.line, whole.column, end.end_line, end.end_column, whole.file)


def _parameters(params: cst.Parameters) -> Iterator[FunctionParameter]:
    for param in params.posonly_params:
        yield FunctionParameter(param.name.value, ParameterKind.POSITIONAL_ONLY, param.default is not None)
    for param in params.params:
        yield FunctionParameter(param.name.value, ParameterKind.POSITIONAL_OR_KEYWORD, param.default is not None)
    if isinstance(params.star_arg, cst.Param):
        yield FunctionParameter(params.star_arg.name.value, ParameterKind.VAR_POSITIONAL, True)
    for param in params.kwonly_params:
        yield FunctionParameter(param.name.value, ParameterKind.KEYWORD_ONLY, param.default is not None)
    if params.star_kwarg is not None:
        yield FunctionParameter(params.star_kwarg.name.value, ParameterKind.VAR_KEYWORD, True)


def _returns(node: cst.FunctionDef) -> Iterator[ReturnKind]:
    """The kind of each `return` of the function's own body (nested functions and classes are not
    its returns), and NONE when it may fall off its end. A generator returns a generator: OTHER."""
    collector = _Returns()
    node.body.visit(collector)
    if collector.yields:
        yield ReturnKind.OTHER
        return
    yield from (_return_kind(value) for value in collector.values)
    if not ends_in_return_or_raise(node.body):
        yield ReturnKind.NONE


class _Returns(cst.CSTVisitor):
    def __init__(self) -> None:
        self.values: list[Optional[cst.BaseExpression]] = []
        self.yields = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        self.yields = True


def ends_in_return_or_raise(body: cst.BaseSuite) -> bool:
    """Whether control cannot fall off the end of `body` (its last statement returns or raises); an
    `if` with both branches ending so counts, anything else (loops, try, with) is taken to fall off
    only when it plainly can: unknown statements count as ending, so NONE is never a guess."""
    statements = getattr(body, "body", ())
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(small, (cst.Return, cst.Raise)) for small in last.body)
    if isinstance(last, cst.If):
        if last.orelse is None:
            return False
        other = last.orelse.body if isinstance(last.orelse, cst.Else) else cst.IndentedBlock(body=[last.orelse])
        return ends_in_return_or_raise(last.body) and ends_in_return_or_raise(other)
    return True  # a loop, try or with: leave it to the returns it holds


def _return_kind(value: Optional[cst.BaseExpression]) -> ReturnKind:
    if value is None or isinstance(value, cst.Name) and value.value == "None":
        return ReturnKind.NONE
    if isinstance(value, (cst.List, cst.ListComp)):
        return ReturnKind.LIST
    if isinstance(value, (cst.Integer, cst.Float)) or \
            isinstance(value, cst.UnaryOperation) and isinstance(value.expression, (cst.Integer, cst.Float)):
        return ReturnKind.SCALAR
    if isinstance(value, cst.BinaryOperation) and _return_kind(value.left) == _return_kind(value.right) == \
            ReturnKind.SCALAR:
        return ReturnKind.SCALAR  # arithmetic of numbers is a number (`hits / len(completions)`)
    if isinstance(value, cst.Call):
        func = value.func
        if isinstance(func, cst.Name) and (func.value in _SCALAR_CALLS or func.value == "sum" and len(value.args) == 1):
            return ReturnKind.SCALAR  # sum(xs, []) would be a list: only sum of one argument counts
        if isinstance(func, cst.Attribute) and func.attr.value in _SCALAR_METHODS and not value.args:
            return ReturnKind.SCALAR
        if isinstance(func, cst.Attribute) and func.attr.value == "tensor" and value.args and \
                _return_kind(value.args[0].value) == ReturnKind.SCALAR:
            return ReturnKind.SCALAR  # torch.tensor(1.0): a 0-d tensor, which cannot be iterated
    return ReturnKind.OTHER

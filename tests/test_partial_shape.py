"""setup/signatures.partial_shape against Python itself: for functions and partials of them, the
parameters it says are left are what `inspect.signature(functools.partial(...))` says (names, kinds,
which have defaults), and a partial binding more positions than the function takes has no shape."""

from __future__ import annotations

import functools
import inspect

import libcst as cst
import pytest

from ppodoctor.setup.signatures import partial_shape, shape
from ppodoctor.types import ParameterKind, Span

_KINDS = {inspect.Parameter.POSITIONAL_ONLY: ParameterKind.POSITIONAL_ONLY,
          inspect.Parameter.POSITIONAL_OR_KEYWORD: ParameterKind.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.VAR_POSITIONAL: ParameterKind.VAR_POSITIONAL,
          inspect.Parameter.KEYWORD_ONLY: ParameterKind.KEYWORD_ONLY,
          inspect.Parameter.VAR_KEYWORD: ParameterKind.VAR_KEYWORD}
def _nowhere(node) -> Span:
    return Span(1, 0, 1, 0)


_STARS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@pytest.mark.parametrize("definition, positional, keywords", [
    ("def f(completions, target_len): pass", 0, {"target_len": 8}),
    ("def f(a, b, c): pass", 0, {"b": 1}),  # b and c after it: keyword only, c still required
    ("def f(a, b, c=3, **kw): pass", 1, {}),
    ("def f(a, /, b, *, c, **kw): pass", 1, {"c": 2}),
    ("def f(a, /, b, *rest, c=1): pass", 3, {}),
    ("def f(a, b, *, c): pass", 2, {"c": 0}),
    ("def f(tokenizer, completions, budget=6, **kwargs): pass", 0, {"tokenizer": None, "budget": 4}),
    ("def f(a, b): pass", 0, {"a": 1}),
])
def test_the_shape_left_is_the_partials_signature(definition, positional, keywords):
    namespace: dict = {}
    exec(definition, namespace)
    real = inspect.signature(functools.partial(namespace["f"], *range(positional), **keywords)).parameters
    read = partial_shape(shape(cst.parse_statement(definition), _nowhere), positional,
                         frozenset(keywords))
    assert [(p.name, p.kind, p.has_default) for p in read.parameters] == \
        [(p.name, _KINDS[p.kind], p.kind in _STARS or p.default is not inspect.Parameter.empty)
         for p in real.values()]


def test_a_partial_binding_too_many_positions_has_no_shape():
    assert partial_shape(shape(cst.parse_statement("def f(a): pass"), _nowhere), 2, frozenset()) is None

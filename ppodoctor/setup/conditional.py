"""Conditional expressions (`a if TEST else b`): the branch the test picks when the source tells the
test's truth, else both branches meet as they do after an `if` statement (a mixin of
values.ValueResolution, so of resolve.Resolver).

The test is told when its value is a literal (`USE_CRITIC = False`), `not` of one, or a comparison of
sides the source shows (`role == "reward"` inside a followed `load_options("reward")`), judged as an
`if` statement's test is (branches.py). When it is not told, a value is the
branches' value where both give the same literal, else unknown; an origin is unknown with the reason,
never either branch's (a `None` branch is not a definite None: PPD102 must not fire on it).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..types import UNKNOWN, ValueKind
from .context import Context
from .model import Origin, Value


class ConditionalResolution:
    def truth(self, test: cst.BaseExpression, ctx: Context, depth: int) -> Optional[bool]:
        """The truth of a test the source tells: a literal's truthiness, `not` of such a test; else None."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self.truth(test.expression, ctx, depth + 1)
            return None if inner is None else not inner
        if isinstance(test, cst.Comparison):
            return self._truth(test, ctx, depth)  # branches.BranchResolution: one judgment for `if` and `a if t else b`
        found = self.value(test, ctx, depth + 1)
        if found.kind != ValueKind.LITERAL:
            return None
        try:
            return bool(found.value)
        except Exception:  # noqa: BLE001 - a literal's __bool__ is the builtin's; kept safe all the same
            return None

    def if_exp_branch(self, node: cst.IfExp, ctx: Context, depth: int) -> Optional[cst.BaseExpression]:
        """The branch the test picks, when the source tells it; else None."""
        chosen = self.truth(node.test, ctx, depth)
        return None if chosen is None else (node.body if chosen else node.orelse)

    def if_exp_value(self, node: cst.IfExp, ctx: Context, text: str, depth: int) -> Value:
        chosen = self.truth(node.test, ctx, depth)
        if chosen is not None:
            found = self.value(node.body if chosen else node.orelse, ctx, depth + 1)
            return Value(found.kind, found.value, text, found.reason)
        body, orelse = (self.value(side, ctx, depth + 1) for side in (node.body, node.orelse))
        if body.kind == orelse.kind == ValueKind.LITERAL and type(body.value) is type(orelse.value) \
                and body.value == orelse.value:
            return Value(ValueKind.LITERAL, body.value, text)  # both branches meet on one value
        return Value(UNKNOWN, None, text, f"`{self.text(node.test)}` decides between two values at run time")

    def if_exp_origin(self, node: cst.IfExp, ctx: Context, index: tuple, depth: int) -> Origin:
        chosen = self.truth(node.test, ctx, depth)
        if chosen is not None:
            return self.origin(node.body if chosen else node.orelse, ctx, index, depth + 1)
        return Origin(reason=f"`{self.text(node.test)}` decides at run time which of two objects it is",
                      text=self.text(node))

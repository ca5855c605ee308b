"""Which returns of a followed call can run: the `if` tests and `match` cases around each return,
evaluated with the call's arguments (a mixin of resolve.Resolver, through functions.FunctionResolution).

`def load(role): match role: case "policy" | "reference": return A ... case _: raise` called as
`load("reward")` returns only what the `"reward"` case returns; so does an `if role == "reward":
return ... elif ...` chain. A test or case is judged only where its values are literals the source
shows: `==`, `!=`, `in`, `not in`, `is`, `is not`, `not`, a literal's truth; literal, singleton,
or-, wildcard and capture patterns (a capture or `_` matches anything; a guard leaves the case
unknown). A return under a branch that surely does not run is left out; one that surely runs ends
the function there (the returns after it are left out); when none is left the call's result is
unknown. Whatever cannot be told keeps every return, as before: their origins meet.
"""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .context import Context
from .facts import BranchPath, FunctionInfo
from .literals import NOT_LITERAL
from ..types import ValueKind

_COMPARE = {
    cst.Equal: lambda a, b: a == b, cst.NotEqual: lambda a, b: a != b,
    cst.In: lambda a, b: a in b, cst.NotIn: lambda a, b: a not in b,
    cst.Is: lambda a, b: a is b, cst.IsNot: lambda a, b: a is not b,
}


class BranchResolution:
    _judging: Optional[set] = None  # the functions whose branches are being judged (made on first use)

    def live_returns(self, function: FunctionInfo, ctx: Context,
                     depth: int = 0) -> list[tuple[cst.BaseExpression, Any]]:
        """The returns of `function` (node, position) that may run in the call `ctx` is inside (depth:
        how deep the resolver already is; the tests' values are followed one deeper)."""
        judging = self._judging is not None and id(function) in self._judging
        if not function.return_paths or len(function.return_paths) != len(function.returns) \
                or not any(function.return_paths) or judging:
            return list(function.returns)  # (a test that calls its own function again: not judged there)
        if self._judging is None:
            self._judging = set()
        self._judging.add(id(function))
        try:
            inside = self.facts.range(function.node)
            live = []
            for (node, position), path in zip(function.returns, function.return_paths):
                taken = self._path_taken(path, ctx, inside, depth)
                if taken is False:
                    continue
                live.append((node, position))
                if taken is True:
                    break  # it surely returns here: what comes after does not run
        finally:
            self._judging.discard(id(function))
        return live  # empty: no return runs for these arguments (the function returns None or raises)

    def _path_taken(self, path: BranchPath, ctx: Context, inside, depth: int) -> Optional[bool]:
        """Whether every branch of `path` that belongs to the function runs: True, False or None."""
        result: Optional[bool] = True
        for depth, (branch, label) in enumerate(path):
            statement = self.facts.branch_statements.get(branch)
            if statement is None:
                result = None
                continue
            start = self.facts.range(statement).start
            if (start.line, start.column) < (inside.start.line, inside.start.column):
                continue  # a branch around the function's definition, not in it
            where = ctx.at(self.facts.position(statement), path[:depth])
            taken = self._branch_taken(statement, label, where, depth)
            if taken is False:
                return False
            if taken is None:
                result = None
        return result

    def _branch_taken(self, statement: cst.CSTNode, label: str, ctx: Context, depth: int) -> Optional[bool]:
        if isinstance(statement, cst.If) and label in ("body", "else"):
            test = self._truth(statement.test, ctx, depth)
            return None if test is None else test == (label == "body")
        if isinstance(statement, cst.Match) and label.startswith("case"):
            subject = self._known(statement.subject, ctx, depth)
            if subject is NOT_LITERAL:
                return None
            chosen = int(label[len("case"):])
            for number, case in enumerate(statement.cases[: chosen + 1]):
                matched = self._pattern_matches(case.pattern, subject, ctx, depth)
                if matched is not False and case.guard is not None:
                    matched = None  # a guard the evaluator does not judge
                if number == chosen:
                    return matched
                if matched is True:
                    return False  # an earlier case takes it
                if matched is None:
                    return None if self._pattern_matches(statement.cases[chosen].pattern, subject, ctx, depth) \
                        is not False else False
        return None

    def _pattern_matches(self, pattern: cst.MatchPattern, subject: Any, ctx: Context, depth: int) -> Optional[bool]:
        if isinstance(pattern, cst.MatchAs):
            return True if pattern.pattern is None else self._pattern_matches(pattern.pattern, subject, ctx, depth)
        if isinstance(pattern, cst.MatchValue):
            value = self._known(pattern.value, ctx, depth)
            return None if value is NOT_LITERAL else _safe(lambda: bool(subject == value))
        if isinstance(pattern, cst.MatchSingleton):
            value = self._known(pattern.value, ctx, depth)
            return None if value is NOT_LITERAL else subject is value
        if isinstance(pattern, cst.MatchOr):
            found = [self._pattern_matches(element.pattern, subject, ctx, depth) for element in pattern.patterns]
            return True if True in found else (False if all(f is False for f in found) else None)
        return None

    def _truth(self, test: cst.BaseExpression, ctx: Context, depth: int) -> Optional[bool]:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._truth(test.expression, ctx, depth)
            return None if inner is None else not inner
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            compare = _COMPARE.get(type(test.comparisons[0].operator))
            left = self._known(test.left, ctx, depth)
            right = self._known(test.comparisons[0].comparator, ctx, depth)
            if compare is None or left is NOT_LITERAL or right is NOT_LITERAL:
                return None
            return _safe(lambda: bool(compare(left, right)))
        value = self._known(test, ctx, depth)
        return None if value is NOT_LITERAL else _safe(lambda: bool(value))

    def _known(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Any:
        """The literal value `node` holds in `ctx`, else NOT_LITERAL."""
        found = self.value(node, ctx, depth + 1)
        return found.value if found.kind == ValueKind.LITERAL else NOT_LITERAL


def _safe(judge) -> Optional[bool]:
    """A comparison of literal values, or None where Python would raise (`1 in "a"`)."""
    try:
        return judge()
    except Exception:  # any error of the comparison itself: the branch cannot be told
        return None

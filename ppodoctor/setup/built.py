"""Values a script builds from parts the source shows: integer arithmetic on sizes, f-strings, `a + b`
of strings and `Path(a) / b` paths. A mixin of values.ValueResolution (resolve.Resolver): each part is
that class's `value`, and a part it does not know makes the whole unknown (None here)."""

from __future__ import annotations

import operator
import posixpath
from typing import Optional

import libcst as cst

from ..types import ValueKind
from .context import Context

PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
# Integer arithmetic a setup derives sizes with (`GLOBAL_BATCH // GRAD_ACCUM`); no `**`: sizes only.
_INT_OPERATORS = {cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
                  cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod}


class BuiltValues:
    def _int_arithmetic(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Optional[int]:
        """`a // b`, `a * b`, `a + b`, `a - b`, `a % b` of integers the source shows; None when a side is
        not a known int (bools are not) or the division is by zero."""
        operation = _INT_OPERATORS.get(type(node.operator)) if isinstance(node, cst.BinaryOperation) else None
        if operation is None:
            return None
        sides = [self.value(side, ctx, depth + 1) for side in (node.left, node.right)]
        if any(side.kind != ValueKind.LITERAL or type(side.value) is not int for side in sides) \
                or (sides[1].value == 0 and operation in (operator.floordiv, operator.mod)):
            return None
        return operation(sides[0].value, sides[1].value)

    def _built_string(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Optional[str]:
        """A path or name built from parts the source shows: an f-string of known values, `a + b` of
        strings, `Path(a) / b` (as the string it stands for); None when a part is not known."""
        if isinstance(node, cst.FormattedString):
            parts = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                    continue
                if part.conversion is not None or part.format_spec is not None:
                    return None
                value = self.value(part.expression, ctx, depth + 1)
                if value.kind != ValueKind.LITERAL or type(value.value) not in (str, int):
                    return None
                parts.append(str(value.value))
            return "".join(parts)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Divide)):
            left, right = (self._path_part(side, ctx, depth) for side in (node.left, node.right))
            if left is None or right is None:
                return None
            # `a / b` runs only on a path (str / str raises): the path it makes, as a string
            return left + right if isinstance(node.operator, cst.Add) else posixpath.join(left, right)
        return None

    def _path_part(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Optional[str]:
        if isinstance(node, cst.Call) and self.qualname(node.func, ctx) in PATH_CLASSES and len(node.args) == 1 \
                and not node.args[0].keyword and not node.args[0].star:
            node = node.args[0].value  # Path("models"): the string it wraps
        if isinstance(node, cst.BinaryOperation):
            return self._built_string(node, ctx, depth + 1)
        value = self.value(node, ctx, depth + 1)
        return value.value if value.kind == ValueKind.LITERAL and isinstance(value.value, str) else None

"""Where an expression is evaluated: the scope, the point in it, and what its names are bound to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import libcst as cst

from .facts import BranchPath, Position, Scope

# A parameter the calls of its function pass differently: unknown, with that reason.
VARIES = "varies"


@dataclass(frozen=True)
class Bound:
    """What a parameter or loop variable stands for: `node` in `ctx`, or the element `index` of it."""

    node: cst.BaseExpression
    ctx: "Context"
    index: tuple = ()


@dataclass(frozen=True)
class Context:
    """Where an expression is evaluated.

    params is None outside a followed call; inside one (or in a function whose calls in the file
    bind its parameters) it maps parameter names to Bound or VARIES, and a parameter it leaves out
    takes its default. loop_vars binds the names of a followed `for` loop or comprehension.
    call_path names the chain of calls that led here, so that two calls of one helper make two objects.
    """

    scope: Scope
    position: Optional[Position]
    path: BranchPath = ()
    params: Optional[tuple[tuple[str, Any], ...]] = None
    call_path: str = ""
    loop_vars: tuple[tuple[str, Bound], ...] = ()

    def at(self, position: Optional[Position], path: BranchPath) -> "Context":
        """The same context at another point of its scope (dataclasses.replace costs ten times more)."""
        return Context(self.scope, position, path, self.params, self.call_path, self.loop_vars)


def dominates(binding_path: BranchPath, use_path: BranchPath) -> bool:
    return use_path[: len(binding_path)] == binding_path

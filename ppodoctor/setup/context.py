"""Where an expression is evaluated: the scope, the point in it, and what its names are bound to."""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .facts import BranchPath, Position, Scope

# A parameter the calls of its function pass differently: unknown, with that reason.
VARIES = "varies"


# Plain classes, not dataclasses: resolution builds them by the thousand, and a frozen dataclass
# pays a compile per method at import and an object.__setattr__ per field at construction.
# Neither is ever changed after it is made.


class Bound:
    """What a parameter or loop variable stands for: `node` in `ctx`, or the element `index` of it."""

    __slots__ = ("node", "ctx", "index")

    def __init__(self, node: cst.BaseExpression, ctx: "Context", index: tuple = ()) -> None:
        self.node, self.ctx, self.index = node, ctx, index


class Collected:
    """What a `**kwargs` parameter holds in a followed call: the keyword arguments (argument, context)
    no other parameter takes, and the call's `**mapping`s; `call` (in `ctx`) is where a keyword added
    for that call alone is written."""

    __slots__ = ("pairs", "call", "ctx")

    def __init__(self, pairs: list, call: cst.Call, ctx: "Context") -> None:
        self.pairs, self.call, self.ctx = pairs, call, ctx


class Context:
    """Where an expression is evaluated.

    params is None outside a followed call; inside one (or in a function whose calls in the file
    bind its parameters) it maps parameter names to Bound or VARIES, and a parameter it leaves out
    takes its default. loop_vars binds the names of a followed `for` loop or comprehension.
    call_path names the chain of calls that led here, so that two calls of one helper make two objects.
    closure: the enclosing function scopes of a closure called through the function that made it.
    """

    __slots__ = ("scope", "position", "path", "params", "call_path", "loop_vars", "closure")

    def __init__(self, scope: Scope, position: Optional[Position], path: BranchPath = (),
                 params: Optional[tuple[tuple[str, Any], ...]] = None, call_path: str = "",
                 loop_vars: tuple[tuple[str, Bound], ...] = (), closure: tuple = ()) -> None:
        self.scope, self.position, self.path = scope, position, path
        self.params, self.call_path, self.loop_vars = params, call_path, loop_vars
        # A closure's enclosing function scopes whose parameters `params` holds too (after its own):
        # `def make_loader(cls): def load(path): return cls.from_pretrained(path)` called through it.
        self.closure = closure

    def replace(self, **changes: Any) -> "Context":
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return Context(**fields)

    def at(self, position: Optional[Position], path: BranchPath) -> "Context":
        """The same context at another point of its scope (dataclasses.replace costs ten times more)."""
        return Context(self.scope, position, path, self.params, self.call_path, self.loop_vars, self.closure)


def dominates(binding_path: BranchPath, use_path: BranchPath) -> bool:
    return use_path[: len(binding_path)] == binding_path

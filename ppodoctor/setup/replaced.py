"""Copies of a dataclass instance with fields changed (a mixin of resolve.Resolver).

`dataclasses.replace(obj, **changes)` (and Python 3.13's `copy.replace`) make a new object of obj's class:
its `__init__` receives obj's init fields with `changes` winning, so a keyword no field takes raises
there (`TypeError: PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'`). The new
object is a constructor call of that class with the merged keywords, each keyword kept where it is
written (the base call's, or the change's), so the config rules judge it and their fixes edit the
place that says it. A base that is no visible constructor call leaves the copy unknown.
"""

from __future__ import annotations

from ..types import OriginKind
from .model import Origin

REPLACERS = frozenset({"dataclasses.replace", "copy.replace"})


class ReplaceResolution:
    def replaced_origin(self, base_node, base_ctx, keywords: tuple, partial: bool, common: dict,
                        depth: int) -> Origin:
        """What `replace(base, **changes)` makes; `keywords`/`partial`: the changes as the call gives them,
        `common`: the call's own key, span and text."""
        base = self.origin(base_node, base_ctx, (), depth + 1)
        if base.kind != OriginKind.CONSTRUCTOR:
            why = f"`{common['callee']}` copies `{base.text or self.text(base_node)}`, which is not a visible constructor call"
            return Origin("call", reason=why, **common)
        changed = {keyword.name for keyword in keywords}
        merged = tuple(k for k in base.keywords if k.name not in changed) + tuple(keywords)
        # Attributes set on the base before the copy travel with its fields; its operations stay its own record.
        # base: the instance copied (its own keywords), as what it was made from for a copy
        return Origin("constructor", class_name=base.class_name, path=base.path, local_class=base.local_class,
                      config=base.config, operations=base.operations, base=base,
                      **dict(common, callee=base.callee, keywords=merged, partial=base.partial or partial,
                               args=base.args))  # the copy's own positional argument is the instance copied

"""The ported text's new trainer calls, read back with the setup model's own resolution machinery.

The probe checks what the port wrote, not what it meant to write: each `RLOOTrainer(...)` /
`GRPOTrainer(...)` call of the new text becomes a `SuccessorCall` (frozen, JSON round-trip) whose
model, reward, config and tokenizer are `Origin`s, as in setup/model.py.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..records import Record, record
from ..setup.model import Origin
from ..setup.resolve import Context, Resolver
from ..setup.scopes import collect
from ..types import Span
from ..setup.facts import BindingKind

SUCCESSOR_NAMES = ("RLOOTrainer", "GRPOTrainer")
FUNCTION = "function"  # a reward written as a local function (`Origin.kind` for it)


@record
class SuccessorCall(Record):
    trainer: str
    span: Span
    keywords: tuple[str, ...]
    positional: int
    star: bool  # a *args / **kwargs the probe cannot see through
    model: Optional[Origin] = None
    rewards: tuple[Origin, ...] = ()
    config: Optional[Origin] = None
    tokenizer: Optional[Origin] = None
    reward_tokenizers: tuple[Origin, ...] = ()


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value for e in node.elements]
    return [node]


def successor_calls(text: str) -> tuple[SuccessorCall, ...]:
    facts = collect(cst.parse_module(text))
    resolver = Resolver(facts)
    found = []
    for site in facts.calls:
        ctx = Context(site.scope, site.position, site.path)
        callee = resolver.qualname(site.node.func, ctx)
        last = callee.rsplit(".", 1)[-1]
        if last not in SUCCESSOR_NAMES or callee.split(".")[0] != "trl":
            continue
        call = site.node
        keywords = {a.keyword.value: (a.value, ctx) for a in call.args if a.keyword is not None}
        star = any(a.star == "*" for a in call.args)
        for arg in call.args:
            if arg.star == "**":
                expanded = resolver.expand_mapping(arg.value, ctx)
                if expanded is None:
                    star = True
                    continue
                for name, node, node_ctx in expanded:
                    keywords.setdefault(name, (node, node_ctx))

        def origin(item) -> Optional[Origin]:
            if item is None:
                return None
            node, node_ctx = item
            if isinstance(node, cst.Name):
                binding, _scope, ambiguous = resolver.lookup(node.value, node_ctx)
                if binding is not None and not ambiguous and binding.kind == BindingKind.DEF:
                    return Origin(FUNCTION, text=node.value, variable=node.value)
            return resolver.origin(node, node_ctx)

        rewards = keywords.get("reward_funcs")
        reward_tokenizers = keywords.get("reward_processing_classes")
        found.append(SuccessorCall(
            trainer=last, span=resolver.span(call), keywords=tuple(keywords),
            positional=sum(1 for a in call.args if a.keyword is None and not a.star),
            star=star,
            model=origin(keywords.get("model")),
            rewards=tuple(origin((n, rewards[1])) for n in _elements(rewards[0])) if rewards else (),
            config=origin(keywords.get("args")),
            tokenizer=origin(keywords.get("processing_class")),
            reward_tokenizers=tuple(origin((n, reward_tokenizers[1])) for n in _elements(reward_tokenizers[0]))
            if reward_tokenizers else ()))
    return tuple(found)

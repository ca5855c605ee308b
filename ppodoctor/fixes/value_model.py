"""The value-model fix: build a single-logit classifier the way TRL's own PPO example does.

    value_model = AutoModelForSequenceClassification.from_pretrained(
        <reward model path, else policy path>, num_labels=1, <the policy's dtype / trust_remote_code>)

The statement goes after the models it is copied from when they are built in the trainer's own
function, else right before the trainer call; every name it reads must be visible there. When the
path expression's names are not (a model loaded inside a helper), `<reward>.config._name_or_path`
or the path's resolved literal stands in; when nothing works the fix is declined, never guessed.
"""

from __future__ import annotations

import json
from typing import Optional

import libcst as cst

from ..setup.model import Origin, PPOSetup
from ..types import Declined, Edit, OriginKind, Role, ValueKind
from .builders import add_keyword, from_pretrained_call, has_keyword, joined, keywords_call, shared_with, swap_class
from .calls import LINE_LIMIT, append_argument
from .imports import Spelling, spell
from .source import SourceMap
from ..setup.resolve import Context
from ..setup.facts import BindingKind

COPIED_KEYWORDS = ("torch_dtype", "dtype", "trust_remote_code")
NAMES = ("value_model", "critic_model")


def _base(origin: Optional[Origin]) -> Optional[Origin]:
    while origin is not None and origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
        origin = origin.base
    return origin


def _usable(origin: Optional[Origin]) -> bool:
    return origin is not None and origin.kind == OriginKind.FROM_PRETRAINED and bool(origin.path.text) and origin.span is not None


def _anchor(source: SourceMap, origin: Origin, trainer_blocks: list,
            trainer_statement: cst.CSTNode) -> Optional[cst.SimpleStatementLine]:
    """The statement building `origin`, when it sits in a block around the trainer call, same function,
    before the trainer's own statement (a model built inline in the call has none: the new one goes
    before the call)."""
    try:
        statement = source.statement(source.node_at(origin.span, cst.Call))
    except Declined:
        return None
    parent = source.parent(statement)
    if statement is trainer_statement or source.end(statement) > source.start(trainer_statement):
        return None
    return statement if any(parent is block for block in trainer_blocks) else None


def value_model_edits(setup: PPOSetup, source: SourceMap, mode: str) -> tuple[Edit, ...]:
    """`mode` "add": pass a new value model; "replace": put it in place of the one passed."""
    call = source.node_at(setup.span, cst.Call)
    trainer_statement = source.statement(call)
    blocks = source.enclosing_blocks(trainer_statement)
    scope = source.scope_of(call)

    reward, policy = _base(setup.origin(Role.REWARD)), _base(setup.origin(Role.POLICY))
    model = reward if _usable(reward) else policy if _usable(policy) else None
    if model is None:
        raise Declined("neither the reward model's nor the policy's path can be seen")
    copied = [k for k in (policy.keywords if _usable(policy) else ()) if k.name in COPIED_KEYWORDS and k.value.text]

    anchors = [_anchor(source, model, blocks, trainer_statement)] + \
        ([_anchor(source, policy, blocks, trainer_statement)] if copied else [])
    if all(anchor is not None for anchor in anchors):
        after = max(anchors, key=source.end)
        position, use_offset = source.position_after(after), source.end(after)
    else:
        after = None
        position, use_offset = source.position_before(trainer_statement), source.start(trainer_statement)

    arguments, spelling = _classifier(source, setup, model, copied, scope, position, use_offset,
                                      "where the value model would go")
    name = source.free_name(NAMES)
    statement = _layout(source, after or trainer_statement, f"{name} = {spelling.text}.from_pretrained(", arguments)
    insertion = source.insert_after(after, statement) if after is not None else \
        source.insert_before(trainer_statement, statement)

    binding = setup.role(Role.VALUE)
    if mode == "replace" and binding is not None:
        row = _row_edits(source, setup, _base(binding.origin))
        if row is not None:
            return row
    if mode == "replace" and binding is not None and binding.via == "mapping":
        sharing = next((role for role in (Role.POLICY, Role.REFERENCE, Role.REWARD) if (other := setup.role(role))
                        is not None and other.written_span is not None and other.written_span == binding.written_span),
                       None)
        if sharing is not None:  # one loop's write fills several roles: replacing it would change them all
            raise Declined(f"the value model is written into the mapping by the same code as the {sharing} model")
        return _replace_in_mapping(source, setup, model, copied, binding)
    if mode == "replace" and binding is not None:
        alias = _alias_assignment(source, binding.text, scope, source.position_before(call))
        if alias is not None:
            rewritten = _rewrite_alias(source, setup, model, copied, alias, scope)
            if rewritten is not None:
                return rewritten
        passing = (source.replace(source.node_at(binding.value_span, cst.BaseExpression), name),)
    elif binding is None:
        if not setup.takes_keyword("value_model"):
            raise Declined(f"`{setup.subclass}.__init__` does not hand a `value_model=` keyword on to PPOTrainer")
        passing = append_argument(source, call, f"value_model={name}")
    else:
        raise Declined("the trainer already has a value model")
    return (insertion,) + passing + spelling.edits


def _row_edits(source: SourceMap, setup: PPOSetup, origin: Optional[Origin]) -> Optional[tuple[Edit, ...]]:
    """A value model loaded by the one call that loads other roles too, from a table a loop walks
    (`for keyword, cls, path, options in ROWS: models[keyword] = cls.from_pretrained(path, **options)`):
    its own row is changed, the class where the row writes it and `num_labels` into the row's options.
    None when no other role shares the call or the model has no row of its own (its class written in the
    call, or no options of its own); declined when the row's class or options serve another role too
    (changing them would change that model as well)."""
    if not _usable(origin) or any((other := _base(setup.origin(role))) is not None and other.key == origin.key
                                  for role in (Role.POLICY, Role.REFERENCE, Role.REWARD)):
        return None  # the very object of another role (`value_model=loaded[ACTOR]`): its row is that role's
    others = [role for role in (Role.POLICY, Role.REFERENCE, Role.REWARD)
              if (other := _base(setup.origin(role))) is not None and other.span == origin.span
              and other.key != origin.key]  # the same call, another object (not the policy object itself)
    if not others or origin.class_span is None or origin.keywords_span is None \
            or _within(origin.class_span, origin.span):
        return None  # no row of its own (a helper called for several roles, its class written in the call)
    shared = shared_with(setup, origin, tuple(others), call_too=True)
    if shared:
        raise Declined(f"the value model's class and options are written where they serve the {shared} model too")
    call, written = from_pretrained_call(origin, source, "value model")
    target = keywords_call(origin, source, call)
    edits = swap_class(source, written, "transformers", "AutoModelForSequenceClassification")
    if not has_keyword(target, "num_labels") and origin.keyword("num_labels") is None:
        edits += add_keyword(source, target, "num_labels", "1")
    return joined(edits)


def _within(inner, outer) -> bool:
    return (outer.line, outer.column) <= (inner.line, inner.column) \
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)


def _replace_in_mapping(source: SourceMap, setup: PPOSetup, model: Origin, copied: list, binding) -> tuple[Edit, ...]:
    """A value model a `**mapping` supplies (`kw["value_model"] = ...`, `dict(value_model=...)`): the new
    classifier is written where the mapping is given it, as one expression, so that nothing it names
    is read before it is bound."""
    node = source.node_at(binding.written_span, cst.BaseExpression)
    statement = source.statement(node)
    arguments, spelling = _classifier(source, setup, model, copied, source.scope_of(node),
                                      source.position_before(statement), source.start(statement),
                                      "where the mapping gets the value model")
    return (source.replace(node, f"{spelling.text}.from_pretrained({', '.join(arguments)})"),) + spelling.edits


def _alias_assignment(source: SourceMap, name: str, scope, position) -> Optional[cst.Assign]:
    """`value_model = model` (the guide's advice): the one plain alias assignment of the name the
    trainer reads, in the trainer's scope, read nowhere else. Rewriting it in place leaves no dead
    alias behind and keeps the script's own name."""
    if not name.isidentifier():
        return None
    found, found_scope, ambiguous = source.resolver.lookup(name, Context(scope, position))
    if found is None or ambiguous or found_scope is not scope or found.kind != BindingKind.ASSIGN or found.index \
            or len(scope.bindings.get(name, ())) != 1 or not isinstance(found.value, (cst.Name, cst.Attribute)):
        return None
    statement = source.statement(found.value)
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign) \
            or len(statement.body[0].targets) != 1:
        return None
    if source.name_count(name) != 2:  # the assignment and the trainer's argument, nothing else
        return None
    return statement.body[0]


def _rewrite_alias(source: SourceMap, setup: PPOSetup, model: Origin, copied: list, alias: cst.Assign,
                   scope) -> Optional[tuple[Edit, ...]]:
    statement = source.statement(alias.value)
    try:
        arguments, spelling = _classifier(source, setup, model, copied, scope, source.position_before(statement),
                                          source.start(statement), "at the alias")
    except Declined:
        return None  # the new statement before the trainer call may still see the path
    head = f"{source.module.code_for_node(alias.targets[0].target)} = {spelling.text}.from_pretrained("
    comment = statement.trailing_whitespace.comment
    tail = len(statement.trailing_whitespace.whitespace.value + comment.value) if comment is not None else 0
    return (source.replace(alias, _layout(source, statement, head, arguments, tail)),) + spelling.edits


def _classifier(source: SourceMap, setup: PPOSetup, model: Origin, copied: list, scope, position, use_offset: int,
                where: str) -> tuple[list[str], Spelling]:
    """The new classifier's `from_pretrained` arguments as they can be written at `position` (the
    model's path, num_labels=1, the policy's dtype-like keywords that are visible there) and how its
    class is spelled there."""
    path = _path_text(source, setup, model, scope, position)
    if path is None:
        raise Declined(f"the model path reads names that are not visible {where}")
    arguments = [path, "num_labels=1"] + [f"{k.name}={k.value.text}" for k in copied
                                           if source.visible(k.value.text, scope, position)]
    return arguments, spell(source, "transformers", "AutoModelForSequenceClassification", scope, position, use_offset)


def _layout(source: SourceMap, neighbour: cst.CSTNode, head: str, arguments: list[str], tail: int = 0) -> str:
    """One line when it fits (with `tail` characters after it, e.g. a comment kept on the line); else
    the arguments on an indented line, or one a line (as black would)."""
    indent, newline = source.indentation(neighbour), source.newline
    flat = head + ", ".join(arguments) + ")"
    if len(indent + flat) + tail <= LINE_LIMIT:
        return flat
    inner = indent + source.module.default_indent
    hugged = inner + ", ".join(arguments)
    if len(hugged) <= LINE_LIMIT:
        return head + newline + hugged + newline + indent + ")"
    return head + newline + "".join(inner + argument + "," + newline for argument in arguments) + indent + ")"


def _path_text(source: SourceMap, setup: PPOSetup, model: Origin, scope, position) -> Optional[str]:
    if source.visible(model.path.text, scope, position):
        return model.path.text
    role = Role.REWARD if model is _base(setup.origin(Role.REWARD)) else Role.POLICY
    binding = setup.role(role)
    # The model object's own record of its path (`reward.config._name_or_path`, `self.reward...`): the
    # setup model follows it back to the path, so the probe can build what this writes.
    dotted = binding is not None and all(part.isidentifier() for part in binding.text.split("."))
    if dotted and source.visible(binding.text, scope, position):
        return f"{binding.text}.config._name_or_path"
    if model.path.kind == ValueKind.LITERAL and isinstance(model.path.value, str):
        return json.dumps(model.path.value, ensure_ascii=False)
    return None

"""One edit builder per fix kind: setup model + source map → text edits, or Declined with the reason.

Each builder changes the least code that repairs the crash: it swaps a class, sets a keyword,
inserts one statement, and leaves every other byte where it was.
"""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from ..rules.base import Diagnostic
from ..setup.model import PEFT_CONFIG, POLICY, PROCESSING_CLASS, REFERENCE, REWARD, VALUE, Origin, PPOSetup
from .calls import append_argument, keyword_argument
from .edits import Edit, LineIndex, with_newline
from .imports import spell
from .source import Declined, SourceMap
from .value_model import value_model

Builder = Callable[[Diagnostic, PPOSetup, SourceMap], tuple[Edit, ...]]


def base_origin(origin: Optional[Origin]) -> Optional[Origin]:
    """The object a copy or PEFT wrapper was made from: where its class and keywords are written."""
    while origin is not None and origin.kind in ("copy", "peft") and origin.base is not None:
        origin = origin.base
    return origin


def _from_pretrained_call(origin: Optional[Origin], source: SourceMap, what: str) -> cst.Call:
    if origin is None or origin.kind != "from_pretrained":
        raise Declined(f"the {what} is not built by a visible `from_pretrained` call")
    call = source.node_at(origin.span, cst.Call)
    if not isinstance(call.func, cst.Attribute):
        raise Declined(f"the {what}'s class cannot be told from its call")
    return call


def _shared_with(setup: PPOSetup, origin: Origin, roles: tuple[str, ...]) -> Optional[str]:
    """A role whose model is built by the very same call (changing it would change that role too)."""
    for role in roles:
        other = base_origin(setup.origin(role))
        if other is not None and other.span is not None and other.span == origin.span:
            return role
    return None


def _spell_at(source: SourceMap, node: cst.CSTNode, module: str, name: str):
    scope = source.scope_of(node)
    return spell(source, module, name, scope, source.position_before(node), source.start(node))


def replace_edits(diagnostic: Diagnostic, setup: Optional[PPOSetup], source: SourceMap) -> tuple[Edit, ...]:
    """The generic kind: text edits given as Span-style (line, column, end_line, end_column, text)."""
    lines: LineIndex = source.lines
    edits = []
    for line, column, end_line, end_column, text in diagnostic.fix.param("edits", ()):
        start, end = lines.offset(line, column), lines.offset(end_line, end_column)
        if end < start:
            raise Declined("an edit ends before it starts")
        edits.append(Edit(start, end, with_newline(text, source.newline)))
    if not edits:
        raise Declined("the fix has no edits")
    return tuple(edits)


def num_labels(diagnostic: Diagnostic, setup: PPOSetup, source: SourceMap) -> tuple[Edit, ...]:
    origin = base_origin(setup.origin(diagnostic.fix.param("role", REWARD)))
    keyword = origin.keyword("num_labels") if origin is not None else None
    if keyword is None:
        raise Declined("no `num_labels=` keyword to change")
    arg = source.node_at(keyword.span, cst.Arg)
    if arg.keyword is None or arg.keyword.value != "num_labels":
        raise Declined("`num_labels` comes from a mapping")
    return (source.replace(arg.value, "1"),)


def reward_classifier(diagnostic: Diagnostic, setup: PPOSetup, source: SourceMap) -> tuple[Edit, ...]:
    origin = base_origin(setup.origin(REWARD))
    call = _from_pretrained_call(origin, source, "reward model")
    shared = _shared_with(setup, origin, (POLICY, REFERENCE))
    if shared:
        raise Declined(f"the reward model is built by the same call as the {shared} model")
    spelling = _spell_at(source, call, "transformers", "AutoModelForSequenceClassification")
    edits = (source.replace(call.func.value, spelling.text),) + spelling.edits
    if keyword_argument(call, "num_labels") is None:
        edits += append_argument(source, call, "num_labels=1")
    return edits


def policy_causal_lm(diagnostic: Diagnostic, setup: PPOSetup, source: SourceMap) -> tuple[Edit, ...]:
    origin = base_origin(setup.origin(POLICY))
    call = _from_pretrained_call(origin, source, "policy")
    shared = _shared_with(setup, origin, (REWARD, VALUE))
    if shared:
        raise Declined(f"the policy is built by the same call as the {shared} model")
    spelling = _spell_at(source, call, "transformers", "AutoModelForCausalLM")
    return (source.replace(call.func.value, spelling.text),) + spelling.edits


def reference_copy(diagnostic: Diagnostic, setup: PPOSetup, source: SourceMap) -> tuple[Edit, ...]:
    binding = setup.role(REFERENCE)
    if binding is None or binding.via == "mapping":
        raise Declined("the reference model is not passed directly")
    value = source.node_at(binding.value_span, cst.BaseExpression)
    if setup.role(PEFT_CONFIG) is not None:
        # With PEFT, TRL builds the reference itself by disabling the adapter.
        return (source.replace(value, "None"),)
    target = _alias_value(source, value) or value
    spelling = _spell_at(source, target, "trl", "create_reference_model")
    text = source.module.code_for_node(target)
    return (source.replace(target, f"{spelling.text}({text})"),) + spelling.edits


def _alias_value(source: SourceMap, value: cst.BaseExpression) -> Optional[cst.Name]:
    """For `ref_model = model` ... `ref_model=ref_model`: the `model` on the alias line."""
    if not isinstance(value, cst.Name):
        return None
    from ..setup.resolve import Context

    scope = source.scope_of(value)
    binding, _scope, ambiguous = source.resolver.lookup(value.value, Context(scope, source.position_before(value)))
    if binding is None or ambiguous or binding.kind != "assign" or binding.index \
            or not isinstance(binding.value, cst.Name):
        return None
    statement = source.parent(binding.value)
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    return binding.value


def pad_token(diagnostic: Diagnostic, setup: PPOSetup, source: SourceMap) -> tuple[Edit, ...]:
    """Right after the tokenizer is bound: where the trainer's scope binds it, else where it is made."""
    binding = setup.role(PROCESSING_CLASS)
    if binding is None:
        raise Declined("the trainer is given no tokenizer")
    line = f'.add_special_tokens({{"pad_token": "[PAD]"}})'
    call = source.node_at(setup.span, cst.Call)
    local = _assignment_of(source, binding.text, call) if binding.text.isidentifier() else None
    if local is not None:
        return (source.insert_after(local, binding.text + line),)
    origin = binding.origin
    if not origin.variable or origin.span is None:
        raise Declined("the tokenizer is not assigned to a name")
    made = _assignment_of(source, origin.variable, source.node_at(origin.span, cst.Call), made_here=True)
    if made is None:
        raise Declined(f"the tokenizer is not created by a plain `{origin.variable} = ...` statement")
    return (source.insert_after(made, origin.variable + line),)


def _assignment_of(source: SourceMap, name: str, node: cst.CSTNode,
                   made_here: bool = False) -> Optional[cst.SimpleStatementLine]:
    """The `name = ...` statement line that binds `name` as seen from `node` (or, made_here, holds it)."""
    from ..setup.resolve import Context

    if made_here:
        try:
            statement = source.statement(node)
        except Declined:
            return None
    else:
        scope = source.scope_of(node)
        found, _scope, ambiguous = source.resolver.lookup(name, Context(scope, source.position_before(node)))
        if found is None or ambiguous or found.kind != "assign" or found.value is None or found.index:
            return None
        try:
            statement = source.statement(found.value)
        except Declined:
            return None
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1 \
            or not isinstance(small.targets[0].target, cst.Name) or small.targets[0].target.value != name:
        return None
    return statement


BUILDERS: dict[str, Builder] = {
    "replace": replace_edits,
    "value_model": value_model,
    "num_labels": num_labels,
    "reward_classifier": reward_classifier,
    "reference_copy": reference_copy,
    "policy_causal_lm": policy_causal_lm,
    "pad_token": pad_token,
}

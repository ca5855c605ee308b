"""The parts of a port that live outside the two calls: the ≤ 0.11 loop, the dataset, dead model
loading code and the imports. Each function returns text edits, or raises Declined with the reason.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

import libcst as cst

from ..fixes.calls import LINE_LIMIT
from ..fixes.source import SourceMap, read_names
from ..setup import kinds
from ..setup.model import PPOSetup, Usage
from ..setup.resolve import Context
from ..types import Declined, Edit, ModelKind, ValueKind
from .arglist import mapping_entries
from .mapping import LOOP_GENERATION
from ..setup.facts import BindingKind

LOOP_METHODS = ("step", "generate", "log_stats")
# trl names a ported script must not import any more (PPO's, and what left with it).
PPO_NAMES = frozenset({"PPOTrainer", "PPOConfig", "PPOv2Trainer", "PPOv2Config", "AutoModelForCausalLMWithValueHead",
                       "AutoModelForSeq2SeqLMWithValueHead", "PreTrainedModelWrapper", "create_reference_model",
                       "respond_to_batch", "LengthSampler"})
# ... of which the newest TRL still has these (`from trl import create_reference_model` works in 1.16).
STILL_IN_TRL = frozenset({"create_reference_model"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- the hand-written loop (≤ 0.11) ------------------------------------------------------------
def loop_statement(source: SourceMap, usages: Iterable[Usage]) -> Optional[cst.CSTNode]:
    """The outermost `for`/`while` holding a `trainer.step/generate/dataloader` use, in its function."""
    found = None
    for usage in usages:
        if usage.name not in LOOP_METHODS and usage.name != "dataloader":
            continue
        node = _node_at(source, usage.span)
        outermost = None
        current = source.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
            if isinstance(current, (cst.For, cst.While)):
                outermost = current
            current = source.parent(current)
        if outermost is None:
            raise Declined(f"`trainer.{usage.name}` is used outside a loop")
        if found is not None and outermost is not found:
            raise Declined("the ≤ 0.11 API is used in more than one loop")
        found = outermost
    return found


def _node_at(source: SourceMap, span) -> cst.CSTNode:
    return source.node_at(span, cst.CSTNode)


def replace_loop(source: SourceMap, loop: cst.CSTNode, trainer_variable: str) -> tuple[int, int, str]:
    if not trainer_variable:
        raise Declined("the trainer is not assigned to a name, so its loop cannot become `trainer.train()`")
    indent = source.indentation(loop)
    start = source.lines.line_start(source.start(loop))
    end = source.lines.line_end(source.end(loop) - 1)
    return start, end, f"{indent}{trainer_variable}.train(){source.newline}"


def loop_settings(source: SourceMap, loop: cst.CSTNode, trainer_variable: str) -> tuple[dict, list[str]]:
    """What the loop says that the new config must: epochs and generation settings; and what it cannot say.

    Returns ({new field: (value text, why)}, [notes]).
    """
    given, notes = {}, []
    iterated = source.module.code_for_node(loop.iter) if isinstance(loop, cst.For) else ""
    if iterated == f"{trainer_variable}.dataloader":
        given["num_train_epochs"] = ("1", "the ≤ 0.11 loop made one pass over the dataloader")
    elif isinstance(loop, cst.For) and isinstance(loop.iter, cst.Call) and \
            source.module.code_for_node(loop.iter.func) == "range" and len(loop.iter.args) == 1:
        epochs = source.module.code_for_node(loop.iter.args[0].value)
        given["num_train_epochs"] = (epochs, "the ≤ 0.11 loop's epochs over the dataloader")
    else:
        notes.append("the ≤ 0.11 loop's length is not a plain pass over the dataloader: set num_train_epochs "
                     "or max_steps")
    scope = source.scope_of(loop)
    for node in _calls(loop):
        if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "generate"
                and source.module.code_for_node(node.func.value) == trainer_variable):
            continue
        keywords, hidden = source.resolver.keywords(node, Context(scope, source.position_before(node)))
        if hidden:
            notes.append("`generate(**...)` hides some generation settings: check max_completion_length, "
                         "temperature, top_k and top_p")
        for keyword in keywords:
            new = LOOP_GENERATION.get(keyword.name)
            if new and keyword.value.kind == ValueKind.LITERAL:
                given[new] = (keyword.value.text if keyword.value.text and "=" not in keyword.value.text
                              else repr(keyword.value.value), f"the ≤ 0.11 loop's generate({keyword.name}=...)")
    return given, notes


def _calls(root: cst.CSTNode) -> list[cst.Call]:
    found = []

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

    root.visit(Visitor())
    return found


def reward_in_loop(source: SourceMap, loop: cst.CSTNode) -> str:
    """The one sequence classifier the loop scores with: its name, for `reward_funcs=`."""
    scope = source.scope_of(loop)
    found: dict[str, str] = {}
    for node in read_names(loop, lambdas=True):
        origin = source.resolver.origin(node, Context(scope, source.position_before(node)))
        if kinds.model_kind(origin) == ModelKind.SEQUENCE_CLASSIFIER and origin.key:
            found.setdefault(origin.key, node.value)
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise Declined(f"the ≤ 0.11 loop scores completions with {what} sequence-classifier reward model; "
                       "the port needs exactly one to pass as `reward_funcs=` (a reward written as code must "
                       "become a reward function by hand)")
    return next(iter(found.values()))


# --- the dataset -------------------------------------------------------------------------------
def dataset_edits(source: SourceMap, setup: PPOSetup, trainer_call: cst.Call, trainer_statement: cst.CSTNode,
                  tokenizer: str) -> tuple[tuple[Edit, ...], str, list]:
    """PPO's `input_ids` dataset → the `prompt` column: the text where the script had it, else decoded.

    Returns (edits, what was done, [(name, statement)] that may now be unused, the argument's new value
    text or None): a dataset given as an expression is converted in place, in the trainer call's edits.
    """
    binding = setup.role("train_dataset")
    if binding is None:
        raise Declined("the trainer is given no train_dataset")
    if binding.via == "mapping":
        entry = next((e for e in mapping_entries(source, trainer_call) if e.name == binding.keyword), None)
        if entry is None:
            raise Declined("the dataset's `**mapping` entry cannot be located")
        value, anchor = entry.value, source.statement(entry.node)
    else:
        value, anchor = source.node_at(binding.value_span, cst.BaseExpression), trainer_statement
    text = source.module.code_for_node(value)
    if isinstance(value, cst.Name):
        undone = _undo_tokenization(source, text, anchor, tokenizer)
        if undone is not None:
            return undone + (None,)
    if not tokenizer.isidentifier():
        raise Declined("the tokenizer is not a plain name, so the token ids cannot be decoded back to text")
    function = f'lambda row: {{"prompt": {tokenizer}.decode(row["input_ids"], skip_special_tokens=True)}}'
    arguments = f'{function}, remove_columns=["input_ids"]'
    how = "the token ids are decoded back to a `prompt` column"
    if isinstance(value, cst.Name):
        indent, newline = source.indentation(anchor), source.newline
        why = "  # the new trainers read prompts as text, not token ids"
        statement = f"{text} = {text}.map({arguments}){why}"
        if len(indent + statement) > LINE_LIMIT:
            inner = indent + source.module.default_indent
            statement = (f"{text} = {text}.map({why}{newline}{inner}{function},{newline}"
                         f'{inner}remove_columns=["input_ids"],{newline}{indent})')
        return (source.insert_before(anchor, statement),), how, [], None
    return (), how, [], f"({text}).map({arguments})"


def _undo_tokenization(source: SourceMap, name: str, trainer_statement: cst.CSTNode, tokenizer: str):
    """`ds = ds.map(tokenize, ...)` where tokenize turns `row["col"]` into input_ids: keep the text."""
    scope = source.scope_of(trainer_statement)
    binding, _scope, ambiguous = source.resolver.lookup(name, Context(scope, source.position_before(trainer_statement)))
    if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index:
        return None
    call = binding.value
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "map"
            and call.args and call.args[0].keyword is None):
        return None
    function = call.args[0].value
    body, dead = function, []
    if isinstance(function, cst.Name):
        found, _s, amb = source.resolver.lookup(function.value, Context(scope, source.position_before(call)))
        if found is None or amb or found.kind != BindingKind.DEF:
            return None
        body = found.function.node
        dead.append((function.value, body))
    column = _tokenized_column(source, body, tokenizer)
    if column is None:
        return None
    try:
        statement = source.statement(call)
    except Declined:
        return None
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    receiver = source.module.code_for_node(call.func.value)
    start = source.lines.line_start(source.start(statement))
    end = source.lines.line_end(source.end(statement) - 1)
    indent = source.indentation(statement)
    if column == "prompt":
        text = "" if receiver == name else f"{indent}{name} = {receiver}{source.newline}"
        how = "the tokenizing `map` is removed: the new trainers tokenize the dataset's `prompt` text themselves"
    else:
        text = (f'{indent}{name} = {receiver}.rename_column("{column}", "prompt")  # the new trainers tokenize '
                f"prompts themselves{source.newline}")
        how = f"the tokenizing `map` is undone: the `{column}` text becomes the `prompt` column"
    if not text:
        return (Edit(*remove_statement(source, statement)),), how, dead
    return (Edit(start, end, text),), how, dead


def _tokenized_column(source: SourceMap, body: cst.CSTNode, tokenizer: str) -> Optional[str]:
    """The `row["col"]` a tokenize function feeds the tokenizer, when it makes `input_ids`."""
    code = source.module.code_for_node(body)
    if "input_ids" not in code:
        return None
    columns: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            callee = source.module.code_for_node(node.func)
            if callee in (tokenizer, f"{tokenizer}.encode", f"{tokenizer}.__call__") and node.args:
                inner = node.args[0].value
                if isinstance(inner, cst.Subscript) and len(inner.slice) == 1:
                    index = inner.slice[0].slice
                    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                        columns.add(index.value.evaluated_value)

    body.visit(Visitor())
    return columns.pop() if len(columns) == 1 else None


# --- code nothing uses any more ---------------------------------------------------------------
def _names_in_module(source: SourceMap, name: str) -> list[cst.Name]:
    """Reads of `name` (not keyword names, attribute names, definitions or import aliases)."""
    found = []
    for node, parent in source.parents.items():
        if type(node) is not cst.Name or node.value != name:
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue
        if isinstance(parent, (cst.ImportAlias, cst.AsName, cst.FunctionDef, cst.ClassDef, cst.Param)):
            continue
        if isinstance(parent, cst.AssignTarget) and parent.target is node:
            continue
        found.append(node)
    return found


def used_after(source: SourceMap, name: str, edits: Iterable[Edit]) -> bool:
    """Whether `name` is still read once `edits` are applied (conservatively: new text counts as a read)."""
    edits = list(edits)
    for node in _names_in_module(source, name):
        start, end = source.start(node), source.end(node)
        if any(e.start <= start and end <= e.end and not e.is_insertion for e in edits):
            continue
        return True
    return any(name in _IDENTIFIER.findall(line.split("#", 1)[0]) for e in edits for line in e.text.splitlines())


def assignment_of(source: SourceMap, span) -> Optional[tuple[str, cst.SimpleStatementLine]]:
    """`X = <call at span>` as a whole statement line: (X, statement), else None."""
    try:
        statement = source.statement(source.node_at(span, cst.Call))
    except Declined:
        return None
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1 \
            or not isinstance(small.targets[0].target, cst.Name):
        return None
    return small.targets[0].target.value, statement


def remove_statement(source: SourceMap, statement: cst.CSTNode) -> tuple[int, int, str]:
    """The statement's lines; after a blank line it takes the blank lines that follow it too, so that
    removing it leaves no more empty lines in a row than there were."""
    start, end = source.lines.line_start(source.start(statement)), source.lines.line_end(source.end(statement) - 1)
    before = source.text[source.lines.line_start(start - 1):start] if start else "x"
    if not before.strip():
        while end < len(source.text):
            following = source.lines.line_end(end)
            if source.text[end:following].strip():
                break
            end = following
    return start, end, ""


def tracked_assignments(source: SourceMap) -> list[tuple[str, cst.SimpleStatementLine]]:
    """`X = <a PPO-era trl name>(...)` statements (LengthSampler, create_reference_model, value heads)."""
    found = []
    for site in source.facts.calls:
        callee = source.resolver.qualname(site.node.func, Context(site.scope, site.position, site.path))
        head = callee.split(".")
        if head[0] != "trl" or not (set(head) & (PPO_NAMES - {"PPOTrainer", "PPOConfig", "PPOv2Trainer", "PPOv2Config"})):
            continue  # (the trainer and config calls are ported, not removed)
        assigned = assignment_of(source, source.span(site.node))
        if assigned is not None and assigned[1].body[0].value is site.node:
            found.append(assigned)
    return found

"""A setup's port as text edits: the config call, the trainer call, then the code around them.

Every edit names a range of the original text (fixes/edits.py), so comments, quoting and line endings
elsewhere are kept byte for byte. Edits are computed in two passes: first what the port changes
(calls, loop, dataset), then what that leaves unused (reference and value model loading, PPO's
imports), judged on the text as the first pass leaves it.
"""

from __future__ import annotations

import textwrap
from typing import Optional

import libcst as cst

from ..fixes.edits import conflicts
from ..fixes.imports import spell
from ..fixes.source import SourceMap
from ..setup import kinds
from ..setup.model import FileSetup, PPOSetup
from ..trl_api.eras import Version
from ..types import Declined, Edit, ModelKind, OriginKind, ValueKind
from . import code, mapping
from .edit_kinds import Block, Pending, fold_edges, inside_block, with_dead_code_removed
from .imports import import_edits
from .arglist import ListEdits, call_entries, mapping_entries
from .model import ChangeKind, ConfigPlan, Note, NoteKind, SetupPort
from .plan import plan_config, ppo_versions_for
from ..setup.resolve import Context
from ..trl_api import table

_DROPPED_ROLES = ("reference", "value", "data_collator")
_COMMENT_WIDTH = 99
# Comments written into the script stay ASCII: the file's own encoding may be latin-1.
_ASCII = str.maketrans({"→": "->", "×": "x", "≤": "<=", "≥": ">=", "≠": "!=", "±": "+/-", "⌈": "ceil(", "⌉": ")"})


def _unbound_name(source: SourceMap, statement: cst.CSTNode, candidates: tuple[str, ...]) -> str:
    """The first candidate no scope of the file binds (keyword names and attributes do not count)."""
    scope = source.scope_of(statement)
    for name in candidates:
        binding, _scope, _amb = source.resolver.lookup(name, Context(scope, None))
        if binding is None and name not in source.facts.root.bindings:
            return name
    return source.free_name(candidates)


class _SetupRewrite:
    def __init__(self, source: SourceMap, file_setup: FileSetup, index: int, target: str, version: Version,
                 pinned: Optional[Version]) -> None:
        self.source, self.file_setup, self.index = source, file_setup, index
        self.setup: PPOSetup = file_setup.setups[index]
        self.target, self.version, self.pinned = target, version, pinned
        self.trainer_name, self.config_name = mapping.TRAINERS[target]
        self.edits: list[Edit] = []
        self.notes: list[Note] = []
        self.call = source.node_at(self.setup.span, cst.Call)
        self.statement = source.statement(self.call)
        self.removable: list[tuple[str, cst.CSTNode]] = []  # (variable, statement) that may become dead

    def note(self, text: str, kind: NoteKind = NoteKind.MEANING) -> None:
        self.notes.append(Note(kind, text))

    def run(self) -> SetupPort:
        setup = self.setup
        if setup.subclass:
            raise Declined(f"`{setup.subclass}` subclasses PPOTrainer: its overrides have no meaning on "
                           f"{self.trainer_name}; port it by hand")
        if setup.unresolved_star:
            raise Declined("the trainer gets arguments from a `*`/`**` the port cannot see")
        versions = ppo_versions_for(setup, self.file_setup.imports, self.pinned)
        tokenizer = self.tokenizer_text()
        loop = code.loop_statement(self.source, setup.usages) if setup.code_era == "old" else None
        given: dict = {}
        if loop is not None:
            given, left = code.loop_settings(self.source, loop, setup.variable)
            for text in left:
                self.note(text, NoteKind.UNPORTED)
        plan = plan_config(setup, self.target, self.version, versions, given) if setup.role("config") else None
        reward = self.reward_text(loop)
        # Statements inserted before the trainer come in this order: the dataset's conversion, the EOS
        # reward function, then (when the config is written inside the trainer call) the config's comments.
        dataset_edits, how, dead, dataset_value = code.dataset_edits(self.source, setup, self.call, self.statement,
                                                                     tokenizer)
        self.edits.extend(dataset_edits)
        self.removable.extend(dead)
        self.note(f"dataset: {how}")
        penalty = self.eos_function(plan, tokenizer) if plan is not None and plan.eos_penalty else None
        if plan is not None:
            self.config_edits(plan)
        self.trainer_edits(reward, tokenizer, penalty, dataset_value)
        if loop is not None:
            self.edits.append(Block(*code.replace_loop(self.source, loop, setup.variable)))
            self.note("the hand-written generate/step loop is replaced by `trainer.train()`: generation, "
                      "scoring with the reward model and the updates happen inside it")
        self.policy_class()
        self.rename_usages()
        self.config_attributes(plan)
        for role in ("reference", "value"):
            self.mark_removable(role)
        self.meaning_notes()
        return SetupPort(self.index, self.target, plan, tuple(self.notes))

    # --- the roles ------------------------------------------------------------------------------
    def tokenizer_text(self) -> str:
        binding = self.setup.role("processing_class")
        if binding is None:
            raise Declined("the trainer is given no tokenizer")
        if binding.via == "mapping" and not binding.text.isidentifier():
            raise Declined("the tokenizer comes from a `**mapping` as an expression")
        return binding.text

    def reward_text(self, loop) -> str:
        binding = self.setup.role("reward")
        if binding is not None:
            kind = kinds.model_kind(binding.origin)
            if kind in (ModelKind.CAUSAL_LM, ModelKind.VALUE_HEAD):
                raise Declined("the reward model is a causal LM: the new trainers read `logits[:, 0]` of a "
                               "sequence classifier (fix it first: `ppodoctor fix` PPD104)")
            return binding.text
        if loop is None:
            raise Declined("the trainer has no reward model")
        reward = code.reward_in_loop(self.source, loop)
        self.note(f"reward: `{reward}`, the sequence classifier the ≤ 0.11 loop scored with, becomes "
                  "`reward_funcs=`")
        return reward

    # --- the config -----------------------------------------------------------------------------
    def config_edits(self, plan: ConfigPlan) -> None:
        origin = self.setup.origin("config")
        if origin.kind != OriginKind.CONSTRUCTOR or not origin.class_name.endswith(("PPOConfig", "PPOv2Config")):
            raise Declined(f"the config is not a visible `PPOConfig(...)` call ({origin.reason or origin.kind})")
        call = self.source.node_at(origin.span, cst.Call)
        entries = {e.name: e for e in call_entries(call)}
        for entry in mapping_entries(self.source, call):
            entries.setdefault(entry.name, entry)
        lists: dict[int, ListEdits] = {}

        def list_for(container) -> ListEdits:
            return lists.setdefault(id(container), ListEdits(self.source, container))

        comments = []
        for change in plan.changes:
            if change.comment:
                comments.append(change.comment)
            if change.kind is ChangeKind.ADD:
                list_for(call).add(change.new, change.value)
                continue
            entry = entries.get(change.old)
            if entry is None:
                raise Declined(f"`{change.old}=` cannot be located in the config")
            edits = list_for(entry.container)
            if change.kind is ChangeKind.DROP:
                edits.remove(entry)
                continue
            edits.rename(entry, change.new)
            if change.kind is ChangeKind.SET:
                edits.set_value(entry, change.value)
        for edits in lists.values():
            self.edits.extend(edits.edits())
        self.edits.append(self.source.replace(call.func, self.config_name))
        if comments:
            # Above the statement that holds the fields: the `**mapping`'s, when they are there.
            holders = [e.container for e in entries.values() if e.container is not call]
            statement = self.source.statement(holders[0] if holders else call)
            indent, newline = self.source.indentation(statement), self.source.newline
            lines = [f"# ppodoctor migrate: the PPO config -> {self.config_name}"]
            for comment in comments:
                lines.extend(textwrap.wrap(comment.translate(_ASCII), width=_COMMENT_WIDTH - len(indent),
                                           initial_indent="#   ",
                                           subsequent_indent="#     ", break_on_hyphens=False))
            self.edits.append(self.source.insert_before(statement, (newline + indent).join(lines)))

    def config_attributes(self, plan: Optional[ConfigPlan]) -> None:
        """`config.model_name` and the like, for fields the new config renames or lacks."""
        origin = self.setup.origin("config")
        if plan is None or origin is None or not origin.variable:
            return
        changes = {c.old: c for c in plan.changes if c.old}
        written = {k.name: k for k in origin.keywords}
        for node, parent in self.source.parents.items():
            if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                    and node.value.value == origin.variable):
                continue
            change = changes.get(node.attr.value)
            if change is None:
                continue
            if change.kind is ChangeKind.RENAME:
                self.edits.append(self.source.replace(node.attr, change.new))
            elif change.kind is ChangeKind.DROP and change.old in written and written[change.old].value.kind == ValueKind.LITERAL:
                self.edits.append(self.source.replace(node, written[change.old].value.text))
            elif change.kind is ChangeKind.SET:
                self.edits.append(self.source.replace(node.attr, change.new))
            else:
                self.edits.append(Pending(self.source.start(node), self.source.end(node), "",
                                          f"`{origin.variable}.{change.old}` is read, but {self.config_name} has no "
                                          f"`{change.old}`"))

    # --- the trainer call -----------------------------------------------------------------------
    def trainer_edits(self, reward: str, tokenizer: str, penalty: Optional[str], dataset: Optional[str]) -> None:
        setup, call = self.setup, self.call
        lists: dict[int, ListEdits] = {}

        def list_for(container) -> ListEdits:
            return lists.setdefault(id(container), ListEdits(self.source, container))

        by_position = {}
        for i, arg in enumerate(call.args):
            if arg.keyword is None and not arg.star:
                by_position[sum(1 for a in call.args[:i] if a.keyword is None and not a.star)] = i
        entries = {e.name: e for e in call_entries(call)}
        for entry in (mapping_entries(self.source, call) if any(a.star == "**" for a in call.args) else ()):
            entries.setdefault(entry.name, entry)
        parameters = set(_successor_parameters(self.trainer_name, self.version))
        reward_value = f"[{reward}, {penalty}]" if penalty else reward
        tokenizers = f"[{tokenizer}, None]" if penalty else tokenizer
        seen_keywords = set()
        for binding in setup.roles:
            if binding.via == "positional":
                index, target = by_position[binding.position], list_for(call)
                if binding.role in _DROPPED_ROLES:
                    target.remove(index)
                    continue
                target.renames[index] = mapping.TRAINER_KEYWORDS[binding.role]
                if binding.role == "reward" and penalty:
                    target.values[index] = reward_value
                if binding.role == "train_dataset" and dataset:
                    target.values[index] = dataset
                seen_keywords.add(mapping.TRAINER_KEYWORDS[binding.role])
                continue
            entry = entries.get(binding.keyword)
            if entry is None:
                raise Declined(f"`{binding.keyword}=` cannot be located")
            if binding.role in _DROPPED_ROLES:
                list_for(entry.container).remove(entry)
                continue
            new = mapping.TRAINER_KEYWORDS.get(binding.role, binding.keyword)
            list_for(entry.container).rename(entry, new)
            if binding.role == "reward" and penalty:
                list_for(entry.container).set_value(entry, reward_value)
            if binding.role == "train_dataset" and dataset:
                list_for(entry.container).set_value(entry, dataset)
            seen_keywords.add(new)
        bound = {b.keyword for b in setup.roles if b.keyword}
        for name, entry in entries.items():
            if name in bound:
                continue
            if name in parameters:
                seen_keywords.add(name)
                continue
            if name == "optimizer" and "optimizers" in parameters:
                list_for(entry.container).rename(entry, "optimizers")
                list_for(entry.container).set_value(entry, f"({self.source.module.code_for_node(entry.value)}, None)")
                continue
            why = mapping.DROPPED_TRAINER_KEYWORDS.get(name, f"{self.trainer_name} has no `{name}` parameter")
            list_for(entry.container).remove(entry)
            self.note(f"`{name}=` removed: {mapping.format_reason(why, self.target)}", NoteKind.UNPORTED)
        if "reward_funcs" not in seen_keywords:
            list_for(call).add("reward_funcs", reward_value)
        list_for(call).add("reward_processing_classes", tokenizers)
        for edits in lists.values():
            self.edits.extend(edits.edits())
        self.edits.append(self.source.replace(call.func, self.trainer_name))

    def eos_function(self, plan: ConfigPlan, tokenizer: str) -> str:
        name = _unbound_name(self.source, self.statement, ("missing_eos_penalty", "eos_penalty_reward"))
        indent, newline = self.source.indentation(self.statement), self.source.newline
        body = [f"def {name}(completion_ids, **kwargs):",
                f'    """PPO\'s missing_eos_penalty={plan.eos_penalty}: subtracted from completions without EOS."""',
                f"    return [0.0 if {tokenizer}.eos_token_id in ids else -({plan.eos_penalty}) for ids in completion_ids]"]
        text = (newline + indent).join(body)
        if not indent:  # a top-level def: two blank lines on each side, as PEP 8 has it
            text = newline * 2 + text + newline * 2
        self.edits.append(self.source.insert_before(self.statement, text))
        self.note(f"missing_eos_penalty={plan.eos_penalty}: a reward function `{name}` beside the reward model "
                  "subtracts it from completions without EOS, as PPO did with the score")
        return name

    # --- around the calls -----------------------------------------------------------------------
    def policy_class(self) -> None:
        origin = self.setup.origin("policy")
        if origin is None or kinds.model_kind(origin) != ModelKind.VALUE_HEAD:
            return
        call = self.source.node_at(origin.span, cst.Call)
        if not isinstance(call.func, cst.Attribute):
            raise Declined("the value-head policy's class cannot be told from its call")
        spelling = spell(self.source, "transformers", "AutoModelForCausalLM", self.source.scope_of(call),
                         self.source.position_before(call), self.source.start(call))
        self.edits.append(self.source.replace(call.func.value, spelling.text))
        self.edits.extend(spelling.edits)
        self.note("policy: the value-head wrapper becomes a plain `AutoModelForCausalLM` (no value head needed)")

    def rename_usages(self) -> None:
        for usage in self.setup.usages:
            if usage.name == "save_pretrained":
                node = self.source.node_at(usage.span, cst.CSTNode)
                attribute = node.func if isinstance(node, cst.Call) else node
                if isinstance(attribute, cst.Attribute):
                    self.edits.append(self.source.replace(attribute.attr, "save_model"))

    def mark_removable(self, role: str) -> None:
        origin = self.setup.origin(role)
        while origin is not None and origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None and not origin.span:
            origin = origin.base
        if origin is None or origin.span is None or origin.kind in (OriginKind.NONE, OriginKind.UNKNOWN):
            return
        assigned = code.assignment_of(self.source, origin.span)
        if assigned is not None:
            self.removable.append(assigned)

    def meaning_notes(self) -> None:
        if self.setup.role("value") is not None or self.setup.code_era in ("old", "ppov2"):
            advantages = "leave-one-out (each completion against the mean of its siblings)" \
                if self.target == mapping.RLOO else "group-normalised (mean and std of the prompt's completions)"
            self.note(f"no critic: the value model is gone; advantages are {advantages}, one per completion, "
                      "not per token (no GAE)")
        if self.target == mapping.GRPO:
            fields = table.successor_config_fields(self.trainer_name, self.version)
            loss = fields.get("loss_type", {}).get("default")
            scale = fields.get("scale_rewards", {}).get("default")
            if loss is not None or scale is not None:
                self.note(f"loss: GRPOConfig's defaults loss_type={loss!r} (the token losses summed over the "
                          f"batch's tokens) and scale_rewards={scale!r} (advantages divided by the std of the "
                          "prompt's rewards), where PPO clipped per-token losses on whitened GAE advantages")
        if self.setup.role("reference") is not None:
            self.note(f"reference: {self.trainer_name} loads its own copy of the policy from its path when beta ≠ 0 "
                      "(none with PEFT); the script's reference model is not passed")


def _successor_parameters(trainer: str, version: Version) -> tuple[str, ...]:
    return table.successor_parameters(trainer, version)


def rewrite_file(text: str, newline: str, file_setup: FileSetup, target: str, version: Version,
                 pinned: Optional[Version] = None) -> tuple[list[Edit], tuple[SetupPort, ...]]:
    """Every setup's edits (the ones that could be ported) and each setup's port or reason."""
    source = SourceMap(text, newline)
    edits: list[Edit] = []
    ports = []
    removable: list[tuple[str, cst.CSTNode]] = []
    for index in range(len(file_setup.setups)):
        rewrite = _SetupRewrite(source, file_setup, index, target, version, pinned)
        try:
            port = rewrite.run()
        except Declined as error:
            ports.append(SetupPort(index, target, declined=str(error)))
            continue
        edits.extend(rewrite.edits)
        removable.extend(rewrite.removable)
        ports.append(port)
    if not any(not p.declined for p in ports):
        return [], tuple(ports)
    removable.extend(code.tracked_assignments(source))
    edits = [e for e in edits if not inside_block(e, edits)]
    edits = with_dead_code_removed(source, edits, removable)
    pending = [e for e in edits if isinstance(e, Pending)]
    if pending:
        raise Declined(pending[0].reason)
    names = mapping.TRAINERS[target][::-1]
    edits.extend(import_edits(source, names, edits))
    edits = fold_edges(edits)
    for i, a in enumerate(edits):
        for b in edits[i + 1:]:
            if conflicts(a, b):
                raise Declined(f"internal: two edits of the port overlap at offset {a.start}-{a.end} and "
                               f"{b.start}-{b.end}")
    return edits, tuple(ports)

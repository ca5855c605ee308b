"""Source → setup model: finds every PPOTrainer construction and binds its roles."""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from ..trl_api import eras
from .guards import import_guards
from .model import Argument, FileSetup, ImportRecord, Keyword, Operation, Origin, PPOSetup, RoleBinding, Usage
from .recent import remember
from .relevance import TRAINER_NAMES
from .resolve import Context, Resolver, dominates
from .scopes import CallSite, ModuleFacts, ObjectAction, collect

# Trainer attributes that only the old (<= 0.11) API has, read without a call.
TRAINER_ATTRIBUTES = frozenset({"dataloader"})
_OLD_KEYWORDS = frozenset({"tokenizer", "dataset", "num_shared_layers", "optimizer", "lr_scheduler"})
_NEW_ONLY_KEYWORDS = frozenset({"processing_class", "reward_model", "value_model", "train_dataset", "eval_dataset",
                                "callbacks", "optimizers", "peft_config"})


def extract(module: cst.Module, path: str = "<string>", text: Optional[str] = None) -> FileSetup:
    """`text`, when given, is the exact source `module` was parsed from (it keys the reuse below)."""
    facts = collect(module)
    file_setup = _Extractor(facts, path).run()
    if file_setup.setups:
        # A fix preview or the fix engine will want this tree again; see recent.py.
        remember(facts, text)
    return file_setup


def _is_trl(qualname: str) -> bool:
    return qualname.split(".")[0] == "trl"


class _Extractor:
    def __init__(self, facts: ModuleFacts, path: str) -> None:
        self.facts, self.path = facts, path
        self.resolver = Resolver(facts)
        self._action_keys: dict[int, str] = {}
        # Local trainer subclasses with their own __init__: their signature is not TRL's.
        self._own_init: set[str] = set()

    def run(self) -> FileSetup:
        subclasses = self._trainer_subclasses()
        setups = []
        for site in self.facts.calls:
            ctx = Context(site.scope, site.position, site.path)
            callee = self.resolver.qualname(site.node.func, ctx)
            trainer = self._trainer_of(callee, subclasses)
            if trainer is not None:
                setups.append(self._setup(site, ctx, callee, *trainer))
        imports = tuple(
            ImportRecord(i.module, i.name, i.alias, self.resolver.span(i.node), self.resolver.span(i.statement),
                         import_guards(self.facts, i, self.resolver))
            for i in self.facts.imports if _is_trl(i.module)
        )
        mentions_value_head = any("ValueHead" in (i.name or "") or "PreTrainedModelWrapper" in (i.name or "")
                                  for i in imports)
        return FileSetup(self.path, tuple(setups), imports, mentions_value_head)

    # --- which calls build a trainer ------------------------------------------------------
    def _trainer_of(self, callee: str, subclasses: dict[str, tuple[str, str]]) -> Optional[tuple[str, str]]:
        if callee in subclasses:
            return subclasses[callee]
        last = callee.rsplit(".", 1)[-1]
        if last in TRAINER_NAMES and (_is_trl(callee) or "." not in callee):
            return last, ""
        return None

    def _trainer_subclasses(self) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        changed = True
        while changed:
            changed = False
            for klass in self.facts.classes:
                key = f"<local>.{klass.name}"
                if key in found or klass.scope.parent is None:
                    continue
                ctx = Context(klass.scope.parent, None)
                for base in klass.bases:
                    trainer = self._trainer_of(self.resolver.qualname(base, ctx), found)
                    if trainer is not None:
                        found[key] = (trainer[0], klass.name)
                        if "__init__" in klass.scope.bindings or trainer[1] in self._own_init:
                            self._own_init.add(klass.name)
                        changed = True
                        break
        return found

    # --- one trainer call -----------------------------------------------------------------
    def _setup(self, site: CallSite, ctx: Context, callee: str, trainer: str, subclass: str) -> PPOSetup:
        call = site.node
        resolver = self.resolver
        arguments = []
        position = 0
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            index = position if keyword is None and not arg.star else None
            if index is not None:
                position += 1
            text = f"{keyword}={resolver.text(arg.value)}" if keyword else f"{arg.star}{resolver.text(arg.value)}"
            arguments.append(Argument(keyword, index, str(arg.star), text, resolver.span(arg),
                                      resolver.span(arg.value)))
        usages = self._usages(call, ctx)
        code_era = self._code_era(trainer, callee, call, ctx, usages)
        own_signature = subclass in self._own_init
        order = () if own_signature else eras.positional_order(trainer, code_era)
        roles: dict[str, RoleBinding] = {}
        unresolved_star = own_signature
        positional_values = []
        for arg in call.args:
            if arg.star == "*":
                expanded = self._expand_sequence(arg.value, ctx)
                if expanded is None:
                    unresolved_star = True
                else:
                    positional_values.extend((node, arg, node_ctx) for node, node_ctx in expanded)
            elif arg.keyword is None and not arg.star:
                positional_values.append((arg.value, arg, ctx))
        for i, (node, arg, node_ctx) in enumerate(positional_values):
            parameter = order[i] if i < len(order) else None
            role = eras.KEYWORD_ROLES.get(parameter or "")
            if role and role not in roles:
                roles[role] = self._binding(role, "positional", None, i, node, arg, node_ctx, site)
        for arg in call.args:
            if arg.keyword is not None:
                role = eras.KEYWORD_ROLES.get(arg.keyword.value)
                if role and role not in roles:
                    roles[role] = self._binding(role, "keyword", arg.keyword.value, None, arg.value, arg, ctx, site)
            elif arg.star == "**":
                expanded = resolver.expand_mapping(arg.value, ctx)
                if expanded is None:
                    unresolved_star = True
                    continue
                for name, node, node_ctx in expanded:
                    role = eras.KEYWORD_ROLES.get(name)
                    if role and role not in roles:
                        roles[role] = self._binding(role, "mapping", name, None, node, arg, node_ctx, site)
        return PPOSetup(
            trainer=trainer,
            trainer_qualname=callee,
            subclass=subclass,
            code_era=code_era,
            span=resolver.span(call),
            callee_span=resolver.span(call.func),
            arguments=tuple(arguments),
            roles=tuple(roles.values()),
            unresolved_star=unresolved_star,
            variable=self._variable(site),
            usages=usages,
        )

    def _binding(self, role: str, via: str, keyword: Optional[str], position: Optional[int],
                 node: cst.BaseExpression, arg: cst.Arg, ctx: Context, site: CallSite) -> RoleBinding:
        origin = self._with_operations(self.resolver.origin(node, ctx), site)
        value_span = self.resolver.span(node) if via != "mapping" else self.resolver.span(arg)
        return RoleBinding(role, via, keyword, position, self.resolver.text(node), self.resolver.span(arg),
                           value_span, origin)

    def _expand_sequence(self, node: cst.BaseExpression, ctx: Context):
        if isinstance(node, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return None
            return [(e.value, ctx) for e in node.elements]
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.resolver.lookup(node.value, ctx)
            if binding is not None and not ambiguous and binding.kind == "assign" and not binding.index:
                return self._expand_sequence(binding.value, Context(scope, binding.position, binding.path))
        return None

    def _variable(self, site: CallSite) -> str:
        for bindings in site.scope.bindings.values():
            for binding in bindings:
                if binding.value is site.node and binding.kind == "assign" and not binding.index:
                    return binding.name
        return ""

    # --- what is done to each object ------------------------------------------------------
    def _action_key(self, action: ObjectAction) -> str:
        cached = self._action_keys.get(id(action))
        if cached is None:
            ctx = Context(action.scope, action.position, action.path)
            cached = self._receiver_key(action, ctx)
            self._action_keys[id(action)] = cached
        return cached

    def _receiver_key(self, action: ObjectAction, ctx: Context) -> str:
        binding, scope, ambiguous = self.resolver.lookup(action.receiver, ctx)
        if binding is None or ambiguous:
            return ""
        if binding.kind == "param":
            return f"param:{scope.name}:{action.receiver}"
        if binding.kind != "assign" or binding.value is None:
            return ""
        inner = Context(scope, binding.position, binding.path)
        return self.resolver.origin(binding.value, inner, binding.index).key

    def _with_operations(self, origin: Origin, site: CallSite) -> Origin:
        base = self._with_operations(origin.base, site) if origin.base is not None else None
        if not origin.key:
            return dataclasses.replace(origin, base=base)
        seen = {(op.name, op.span) for op in origin.operations}
        found = []
        for action in self.facts.actions:
            if action.kind not in ("call", "set", "freeze", "passed"):
                continue
            same_scope = action.scope is site.scope
            if same_scope and action.position >= site.position:
                continue
            if self._action_key(action) != origin.key:
                continue
            operation = self._operation(action, site, same_scope)
            if operation is not None and (operation.name, operation.span) not in seen:
                seen.add((operation.name, operation.span))
                found.append(operation)
        return dataclasses.replace(origin, base=base, operations=origin.operations + tuple(found))

    def _operation(self, action: ObjectAction, site: CallSite, same_scope: bool) -> Optional[Operation]:
        resolver = self.resolver
        ctx = Context(action.scope, action.position, action.path)
        conditional = not dominates(action.path, site.path) if same_scope else bool(action.path)
        span = resolver.span(action.node)
        if action.kind == "set":
            value = resolver.value(action.node, ctx) if isinstance(action.node, cst.BaseExpression) else None
            return Operation("set", action.name, value=value, span=span, conditional=conditional)
        if action.kind in ("freeze", "passed"):
            return Operation(action.kind, action.name, span=span, conditional=conditional)
        call = action.node
        if not isinstance(call, cst.Call):
            return None
        args = tuple(resolver.value(a.value, ctx) for a in call.args if a.keyword is None and not a.star)
        keywords = tuple(Keyword(a.keyword.value, resolver.value(a.value, ctx), resolver.span(a))
                         for a in call.args if a.keyword is not None)
        return Operation("call", action.name, args, keywords, None, span, conditional)

    def _usages(self, call: cst.Call, ctx: Context) -> tuple[Usage, ...]:
        key = self.resolver._key(call, ctx)
        found: dict[tuple, Usage] = {}
        for action in self.facts.actions:
            if action.kind not in ("call", "attribute"):
                continue
            if action.kind == "attribute" and action.name not in TRAINER_ATTRIBUTES:
                continue
            if self._action_key(action) != key:
                continue
            span = self.resolver.span(action.node)
            slot = (action.name, span.line, span.column)
            if slot not in found or action.kind == "call":
                found[slot] = Usage(action.name, action.kind, span)
        return tuple(sorted(found.values(), key=lambda u: (u.span.line, u.span.column)))

    # --- which era the code was written for -----------------------------------------------
    def _code_era(self, trainer: str, callee: str, call: cst.Call, ctx: Context, usages: tuple[Usage, ...]) -> str:
        if trainer == "PPOv2Trainer":
            return "ppov2"
        keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
        if keywords & {"policy", "ref_policy"}:
            return eras.V012
        if "config" in keywords and keywords & _NEW_ONLY_KEYWORDS:
            return eras.V012
        if "args" in keywords or keywords & _NEW_ONLY_KEYWORDS:
            return eras.V013
        if keywords & _OLD_KEYWORDS:
            return eras.OLD
        if any(u.name in ("step", "generate", "log_stats") for u in usages) or \
                any(u.name in TRAINER_ATTRIBUTES for u in usages):
            return eras.OLD
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        if len(positional) >= 2:
            second = self.resolver.origin(positional[1], ctx)
            name = second.class_name.rsplit(".", 1)[-1]
            if "Tokenizer" in name or "Processor" in name:
                return eras.V013
            if name and ("Model" in name or "LM" in name):
                return eras.OLD
        if callee.startswith("trl.experimental"):
            return eras.V013
        return "unknown"

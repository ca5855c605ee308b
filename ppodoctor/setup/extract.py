"""Source → setup model: finds every PPOTrainer (and RLOOTrainer/GRPOTrainer) construction and binds its roles."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..trl_api import eras
from ..types import OriginKind, Role, TrainerKind
from .context import Bound, Context
from .forwarding import Forwarding, Passed, as_passed
from .guards import import_guards, statement_guards
from .launched import PARSE_CALLS
from .model import Argument, ArgvRefusal, FileSetup, ImportRecord, Origin, PPOSetup, RoleBinding, Usage
from .operations import Operations
from .project import Project, project_for
from .recent import remember
from .relevance import TRAINER_KINDS, TRAINER_NAMES
from .resolve import Resolver
from .scanner import TRAINER_ATTRIBUTES
from .scopes import CallSite, ModuleFacts, collect
from .facts import BindingKind

_SEQUENCE_ROLES = frozenset({Role.REWARD_FUNCS, Role.REWARD_PROCESSING_CLASSES})  # one object or a list of them
_OLD_KEYWORDS = frozenset({"tokenizer", "dataset", "num_shared_layers", "optimizer", "lr_scheduler"})
_NEW_ONLY_KEYWORDS = frozenset({"processing_class", "reward_model", "value_model", "train_dataset", "eval_dataset",
                                "callbacks", "optimizers", "peft_config"})


def extract(module: cst.Module, path: str = "<string>", text: Optional[str] = None, argv=None,
            overlay: Optional[dict[str, str]] = None) -> FileSetup:
    """`text`, when given, is the exact source `module` was parsed from (it keys the reuse below);
    `argv` (argv.ScriptArgv), the command line a launch gives the script; `overlay`: the project
    modules' texts as a fix in progress has them (setup/project.py)."""
    facts = collect(module)
    file_setup = _Extractor(facts, path, project_for(path, facts, overlay), argv).run()
    if file_setup.setups:
        # A fix preview or the fix engine will want this tree again; see recent.py.
        remember(facts, text)
    return file_setup


def _is_trl(qualname: str) -> bool:
    return qualname.split(".")[0] == "trl"


class _Extractor:
    def __init__(self, facts: ModuleFacts, path: str, project: Optional[Project] = None, argv=None) -> None:
        self.facts, self.path = facts, path
        self.resolver = Resolver(facts, project, argv)
        self.operations = Operations(facts, self.resolver)
        self.forwarding = Forwarding(facts, self.resolver)
        # Local trainer subclasses with their own __init__: their signature is not TRL's.
        self._own_init: set[str] = set()

    def run(self) -> FileSetup:
        subclasses = self._trainer_subclasses()
        setups, group_setups, config_sites = [], [], []
        for site in self.facts.calls:
            ctx = Context(site.scope, site.position, site.path)
            callee = self.resolver.qualname(site.node.func, ctx)
            trainer = self._trainer_of(callee, subclasses) or self._project_subclass(callee, ctx)
            bound: list = []
            if trainer is None and callee == "":
                # `make = functools.partial(PPOTrainer, args=...)`, then `make(model=...)`: a trainer call.
                callee, trainer, bound = self._partial_trainer(site, subclasses)
            if trainer is not None:
                # Inside a function its calls in the file bind the parameters (`main(parse())`).
                ctx = self.resolver.entry_context(site.scope, site.position, site.path)
                found = self._setup(site, ctx, callee, *trainer, bound=bound)
                (setups if found.kind == TrainerKind.PPO else group_setups).append(found)
            elif callee.rsplit(".", 1)[-1] == "PPOConfig" and _is_trl(callee):
                config_sites.append(site)
        imports = tuple(
            ImportRecord(i.module, i.name, i.alias, self.resolver.span(i.node), self.resolver.span(i.statement),
                         import_guards(self.facts, i, self.resolver))
            for i in self.facts.imports if _is_trl(i.module)
        )
        mentions_value_head = any("ValueHead" in (i.name or "") or "PreTrainedModelWrapper" in (i.name or "")
                                  for i in imports)
        project = self.resolver.project
        return FileSetup(self.path, tuple(setups), imports, mentions_value_head,
                         self._free_configs(setups, config_sites), refusals=self._refusals(),
                         group_setups=tuple(group_setups),
                         data_files=tuple(data.shown for data in project.data_files) if project else ())

    def _refusals(self) -> tuple[ArgvRefusal, ...]:
        """What the script's parsers would refuse in the launch's command line, at each parse call."""
        if self.resolver.argv is None:
            return ()
        found = []
        for site in self.facts.calls:
            func = site.node.func
            if isinstance(func, cst.Attribute) and func.attr.value in PARSE_CALLS:
                binding = self.resolver.launch_binding(site.node, Context(site.scope, site.position, site.path))
                span = self.resolver.span(site.node)
                # only the launch's words: a list the script writes itself is not the launch's to answer for
                ours = binding is not None and binding.where == self.resolver.argv.where
                found.extend(ArgvRefusal(error, span) for error in (binding.errors if ours else ()))
        return tuple(found)

    def _free_configs(self, setups: list[PPOSetup], sites: list[CallSite]) -> tuple[Origin, ...]:
        """PPOConfig(...) calls no trainer call takes: TRL validates a config where it is built, so a
        config module is checked even though the trainer is built elsewhere."""
        if not sites:
            return ()
        taken = {binding.origin.span for setup in setups for binding in setup.roles
                 if binding.role == Role.CONFIG and binding.origin.span is not None}
        found = []
        for site in sites:
            origin = self.resolver.origin(site.node, self.resolver.entry_context(site.scope, site.position, site.path))
            if origin.kind == OriginKind.CONSTRUCTOR and origin.span not in taken:
                found.append(origin)
        return tuple(found)

    # --- which calls build a trainer ------------------------------------------------------
    def _trainer_of(self, callee: str, subclasses: dict[str, tuple[str, str]]) -> Optional[tuple[str, str]]:
        if callee in subclasses:
            return subclasses[callee]
        last = callee.rsplit(".", 1)[-1]
        if last in TRAINER_NAMES and (_is_trl(callee) or "." not in callee):
            return last, ""
        return None

    def _partial_trainer(self, site: CallSite, subclasses: dict[str, tuple[str, str]]):
        """(callee, (trainer, subclass), the partial's bound arguments as Passed) when `site` calls a
        functools.partial of a trainer class (or of a partial of one), else ("", None, [])."""
        func, plain = site.node.func, Context(site.scope, site.position, site.path)
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return "", None, []
        binding = self.resolver.lookup(func.value, plain)[0] if isinstance(func, cst.Name) else None
        if self.resolver.partial_target(func, plain) is None and (binding is None or binding.kind != BindingKind.PARAM):
            return "", None, []  # told first without binding the function's parameters (cheaper): no partial
        ctx = self.resolver.entry_context(site.scope, site.position, site.path)
        wrapped = self.resolver.partial_target(site.node.func, ctx)
        if wrapped is None:
            return "", None, []
        target, target_ctx, pairs = wrapped
        callee = self.resolver.qualname(target, target_ctx)
        trainer = self._trainer_of(callee, subclasses) or self._project_subclass(callee, target_ctx)
        if trainer is None:
            return "", None, []
        return callee, trainer, [Passed(arg.keyword.value if arg.keyword is not None else None, str(arg.star),
                                        arg.value, arg, arg_ctx) for arg, arg_ctx in pairs]

    def _project_subclass(self, callee: str, ctx: Context, depth: int = 0) -> Optional[tuple[str, str]]:
        """A trainer subclass defined in a project module the script imports (setup/project.py): the
        trainer it derives from and its name, judged in its own module as a local one is here."""
        if not callee.startswith("<local>.") or self.resolver.project is None or depth > 8:
            return None
        klass = self.resolver.local_class(callee, ctx)
        if klass is None or klass.scope.parent is None or klass.scope.parent is self.facts.root:
            return None
        return self._subclass_of(klass, {}, depth)

    def _trainer_subclasses(self) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        changed = True
        while changed:
            changed = False
            for klass in self.facts.classes:
                key = f"<local>.{klass.name}"
                if key in found or klass.scope.parent is None:
                    continue
                trainer = self._subclass_of(klass, found)
                if trainer is not None:
                    found[key] = trainer
                    changed = True
        return found

    def _subclass_of(self, klass, known: dict[str, tuple[str, str]], depth: int = 0) -> Optional[tuple[str, str]]:
        """(the trainer `klass` derives from, its name) when a base is a trainer, a subclass in `known`
        or one of a project module; a subclass with an `__init__` of its own (or above it) is noted."""
        outer = Context(klass.scope.parent, None)
        for base in klass.bases:
            name = self.resolver.qualname(base, outer)
            trainer = self._trainer_of(name, known) or self._project_subclass(name, outer, depth + 1)
            if trainer is not None:
                if "__init__" in klass.scope.bindings or trainer[1] in self._own_init:
                    self._own_init.add(klass.name)
                return trainer[0], klass.name
        return None

    # --- one trainer call -----------------------------------------------------------------
    def _setup(self, site: CallSite, ctx: Context, callee: str, trainer: str, subclass: str,
               bound: list[Passed] = ()) -> PPOSetup:
        """bound: what a functools.partial of the trainer binds, positional arguments first; a keyword the
        call passes too is the call's."""
        call = site.node
        resolver = self.resolver
        passed = as_passed(call, ctx)
        if bound:
            given = {item.keyword for item in passed if item.keyword is not None}
            kept = [item for item in bound if item.keyword is None or item.keyword not in given]
            def positional(item: Passed) -> bool:
                return item.keyword is None and item.star != "**"
            passed = [item for item in kept if positional(item)] + [item for item in passed if positional(item)] \
                + [item for item in kept if not positional(item)] + [item for item in passed if not positional(item)]
        own_signature = subclass in self._own_init
        forwards, passes_keywords, own_keywords = False, not own_signature, frozenset()
        if subclass:
            klass = resolver.local_class(callee, ctx)
            through = self.forwarding.through(klass, passed, call) if klass is not None else None
            if through is not None:
                # What the subclass's __init__ hands on is what PPOTrainer receives.
                (passed, passes_keywords, own_keywords), own_signature, forwards = through, False, True
        arguments = []
        position = 0
        views = {}
        for item in passed:
            keyword = item.keyword
            index = position if keyword is None and not item.star else None
            if index is not None:
                position += 1
            text = f"{keyword}={resolver.text(item.value)}" if keyword else f"{item.star}{resolver.text(item.value)}"
            expanded = None
            if item.star == "**":
                views[id(item)] = view = resolver.mapping_view(item.value, item.ctx)
                expanded = tuple(view.items) if view is not None and view.exact else None
            arguments.append(Argument(keyword, index, item.star, text, resolver.span(item.arg),
                                      resolver.span(item.value), expanded))
        usages = self.operations.usages(call, ctx)
        kind = TRAINER_KINDS[trainer]
        if kind == TrainerKind.PPO:
            code_era, keyword_roles = self._code_era(trainer, callee, passed, usages), eras.KEYWORD_ROLES
            order = () if own_signature else eras.positional_order(trainer, code_era)
        else:  # RLOOTrainer / GRPOTrainer: one signature since trl 1.0
            code_era, keyword_roles = "unknown", eras.GROUP_KEYWORD_ROLES
            order = () if own_signature else eras.GROUP_ORDER
        roles: dict[str, RoleBinding] = {}
        unresolved_star = own_signature
        positional_values = []
        for item in passed:
            if item.star == "*":
                expanded = self._expand_sequence(item.value, item.ctx)
                if expanded is None:
                    unresolved_star = True
                else:
                    positional_values.extend((node, item.arg, node_ctx) for node, node_ctx in expanded)
            elif item.keyword is None and not item.star:
                positional_values.append((item.value, item.arg, item.ctx))
        for i, (node, arg, node_ctx) in enumerate(positional_values):
            parameter = order[i] if i < len(order) else None
            role = keyword_roles.get(parameter or "")
            if role and role not in roles:
                roles[role] = self._binding(role, "positional", None, i, node, arg, node_ctx, site)
        for item in passed:
            if item.keyword is not None:
                role = keyword_roles.get(item.keyword)
                if role and role not in roles:
                    roles[role] = self._binding(role, "keyword", item.keyword, None, item.value, item.arg, item.ctx,
                                                site)
            elif item.star == "**":
                view = views[id(item)]
                if view is None or not view.exact:
                    unresolved_star = True
                    if view is None:
                        continue
                for name, entry in view.items.items():
                    role = keyword_roles.get(name)
                    if role and role not in roles:
                        roles[role] = self._binding(role, "mapping", name, None, entry.node, item.arg, entry.ctx,
                                                    site, entry.certain)
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
            guards=statement_guards(self.facts, site.scope, site.path, call, resolver),
            subclass_forwards=forwards,
            passes_keywords=passes_keywords,
            own_keywords=tuple(sorted(own_keywords)),
            kind=kind,
        )

    def _binding(self, role: str, via: str, keyword: Optional[str], position: Optional[int],
                 node: cst.BaseExpression, arg: cst.Arg, ctx: Context, site: CallSite,
                 certain: bool = True) -> RoleBinding:
        if certain:
            origin = self.resolver.origin(node, ctx)
            unbound = self.resolver.origin(node, ctx.replace(params=None)) \
                if ctx.params is not None else None
            origin = self.operations.with_operations(origin, site, unbound)
        else:
            origin = Origin(reason=f"`{keyword}` is set only on some paths", text=self.resolver.text(node))
        value_span = self.resolver.span(node) if via != "mapping" else self.resolver.span(arg)
        written = self.resolver.span(node) if via == "mapping" and certain else None
        elements = None
        if certain and role in _SEQUENCE_ROLES:
            # `reward_funcs=[f, "org/rm"]`: the trainer judges each element on its own.
            expanded = self._expand_sequence(node, ctx)
            if expanded is not None:
                elements = tuple(self.resolver.origin(item, item_ctx) for item, item_ctx in expanded)
        return RoleBinding(role, via, keyword, position, self.resolver.text(node), self.resolver.span(arg),
                           value_span, origin, written, elements)

    def _expand_sequence(self, node: cst.BaseExpression, ctx: Context):
        if isinstance(node, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return None
            return [(e.value, ctx) for e in node.elements]
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.resolver.lookup(node.value, ctx)
            if binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN and not binding.index:
                return self._expand_sequence(binding.value, Context(scope, binding.position, binding.path))
            bound = self.resolver.param(node.value, ctx) if binding is not None and not ambiguous and \
                binding.kind == BindingKind.PARAM and self.resolver.binds_in(scope, ctx) else None
            if isinstance(bound, Bound) and not bound.index:  # a list a followed call passes: `build([f, g])`
                return self._expand_sequence(bound.node, bound.ctx)
        if isinstance(node, cst.Call) and self.resolver.qualname(node.func, ctx) in ("list", "tuple") \
                and len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
            node = node.args[0].value  # `list(f(n) for n in NAMES)`
        return self.resolver.comprehension_items(node, ctx)

    def _variable(self, site: CallSite) -> str:
        for bindings in site.scope.bindings.values():
            for binding in bindings:
                if binding.value is site.node and binding.kind == BindingKind.ASSIGN and not binding.index:
                    return binding.name
        return ""

    # --- which era the code was written for -----------------------------------------------
    def _code_era(self, trainer: str, callee: str, passed: list[Passed], usages: tuple[Usage, ...]) -> str:
        if trainer == "PPOv2Trainer":
            return "ppov2"
        keywords = {item.keyword for item in passed if item.keyword is not None}
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
        positional = [item for item in passed if item.keyword is None and not item.star]
        if len(positional) >= 2:
            second = self.resolver.origin(positional[1].value, positional[1].ctx)
            name = second.class_name.rsplit(".", 1)[-1]
            if "Tokenizer" in name or "Processor" in name:
                return eras.V013
            if name and ("Model" in name or "LM" in name):
                return eras.OLD
        if callee.startswith("trl.experimental"):
            return eras.V013
        return "unknown"


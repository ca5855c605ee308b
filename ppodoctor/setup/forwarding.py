"""What a local trainer subclass's `__init__` hands on to PPOTrainer.

`class MyTrainer(PPOTrainer): def __init__(self, *args, log_every=10, **kwargs): super().__init__(*args,
**kwargs)` is a function whose one forwarding call maps the call's arguments to the base call: its
own parameters take theirs (`log_every=`), `*args` and `**kwargs` pass the rest on, and the forwarding
call may add its own (`value_model=self.make_critic()`). The arguments PPOTrainer receives are then
read as if the script had passed them to PPOTrainer itself. A chain of such subclasses is followed
class by class; a literal key popped off `**kwargs` first (`kwargs.pop("log_every", 10)`) is one of
the subclass's own. Whatever the file does not show stays unknown (None): a forwarding call in a
branch or made twice, `kwargs` changed otherwise before it is passed on, several bases, a `**mapping`
that may hold one of the subclass's own parameters.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Bound, Context
from .facts import ActionKind, ClassInfo, FunctionInfo, ModuleFacts
from .literals import literal

_DEPTH = 8
# Calls on `args`/`kwargs` that read them without changing what is passed on.
_READING = frozenset({"get", "copy", "keys", "items", "values", "__contains__", "count", "index"})


class Passed:
    """One argument as the trainer receives it: its keyword (None: positional), star ("", "*", "**"),
    value, the argument node it is written in (for spans) and the context its value is read in."""

    __slots__ = ("keyword", "star", "value", "arg", "ctx")

    def __init__(self, keyword: Optional[str], star: str, value: cst.BaseExpression, arg: cst.Arg,
                 ctx: Context) -> None:
        self.keyword, self.star, self.value, self.arg, self.ctx = keyword, star, value, arg, ctx


def as_passed(call: cst.Call, ctx: Context) -> list[Passed]:
    return [Passed(arg.keyword.value if arg.keyword is not None else None, str(arg.star), arg.value, arg, ctx)
            for arg in call.args]


class Forwarding:
    def __init__(self, facts: ModuleFacts, resolver) -> None:
        self.facts, self.resolver = facts, resolver

    def _facts_of(self, scope) -> ModuleFacts:
        """The facts of the module `scope` is in: this script's, or a project module's that defines
        the class (setup/project.py)."""
        project = self.resolver.project
        found = project.facts_of_scope(scope) if project is not None else None
        return found if found is not None else self.facts

    def through(self, klass: ClassInfo, passed: list[Passed], call: cst.Call, depth: int = 0) \
            -> Optional[tuple[list[Passed], bool, frozenset]]:
        """The arguments the trainer base receives when `klass(...)` is called with `passed`, or None;
        whether a keyword added to the call would reach it too (every `__init__` hands `**kwargs` on);
        and the keywords the subclasses keep for themselves (their own parameters, keys they pop)."""
        if depth > _DEPTH or klass.scope.parent is None:
            return None
        reach, own = True, frozenset()
        outer = Context(klass.scope.parent, None)
        init = klass.methods.get("__init__")
        if init is None:
            following = klass.bases[0] if len(klass.bases) == 1 else None
        else:
            found = self._forwarding_call(init, klass, outer)
            if found is None:
                return None
            site, following = found
            mapped = self._mapped(init, site, passed, call)
            if mapped is None:
                return None
            passed, reach, own = mapped
        if following is None:
            return None
        base = self.resolver.local_class(self.resolver.qualname(following, outer), outer)
        if base is None:
            return passed, reach, own
        above = self.through(base, passed, call, depth + 1)
        return (above[0], above[1] and reach, above[2] | own) if above is not None else None

    def _forwarding_call(self, init: FunctionInfo, klass: ClassInfo, outer: Context):
        """The one `super().__init__(...)` (or `Base.__init__(self, ...)`) that always runs, and the base."""
        found = []
        for site in self._facts_of(init.scope).calls:
            func = site.node.func
            if site.scope is not init.scope or not isinstance(func, cst.Attribute) or func.attr.value != "__init__":
                continue
            receiver = func.value
            if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) \
                    and receiver.func.value == "super":
                found.append((site, klass.bases[0] if len(klass.bases) == 1 else None))
            else:
                named = self.resolver.qualname(receiver, outer)
                base = next((b for b in klass.bases if named and self.resolver.qualname(b, outer) == named), None)
                found.append((site, base) if base is not None else (site, None))
        if len(found) != 1 or found[0][0].path or found[0][1] is None:
            return None
        return found[0]

    def _mapped(self, init: FunctionInfo, site, passed: list[Passed], call: cst.Call) \
            -> Optional[tuple[list[Passed], bool, frozenset]]:
        node = init.node.params
        if not init.self_name:
            return None
        positional_names = [p.name.value for p in list(node.posonly_params) + list(node.params)][1:]
        named = set(positional_names) | {p.name.value for p in node.kwonly_params}
        star = node.star_arg.name.value if isinstance(node.star_arg, cst.Param) else None
        star_kw = node.star_kwarg.name.value if isinstance(node.star_kwarg, cst.Param) else None
        popped = self._popped(init, star_kw) if star_kw is not None else set()
        if popped is None or not self._unchanged(init, site, [name for name in (star, star_kw) if name]):
            return None
        named |= popped  # `kwargs.pop("log_every", 10)`: a keyword of the subclass's own
        bound: dict[str, Passed] = {}
        rest_positional: list[Passed] = []
        rest_keywords: list[Passed] = []
        filled = 0
        for item in passed:
            if item.star == "*" or (item.star == "" and item.keyword is None):
                if filled < len(positional_names):
                    if item.star:
                        return None  # how many of the named parameters a sequence fills is not known
                    bound[positional_names[filled]] = item
                    filled += 1
                elif star is not None:
                    rest_positional.append(item)
                else:
                    return None
            elif item.star == "**":
                open_names = named - set(bound)
                if open_names:
                    view = self.resolver.mapping_view(item.value, item.ctx)
                    if view is None or not view.exact or open_names & set(view.items):
                        return None
                if star_kw is None:
                    return None
                rest_keywords.append(item)
            elif item.keyword in named:
                if item.keyword in bound:
                    return None
                bound[item.keyword] = item
            elif star_kw is not None:
                rest_keywords.append(item)
            else:
                return None
        line, column = self.resolver.facts.position(call)  # the call is in the checked script
        first = passed[0].ctx if passed else None
        inner = Context(init.scope, site.position, site.path,
                        tuple((name, Bound(item.value, item.ctx)) for name, item in bound.items()),
                        f"{first.call_path if first is not None else ''}/{line}:{column}")
        forwarded: list[Passed] = []
        reach = False
        args = list(site.node.args)
        if not isinstance(site.node.func.value, cst.Call):  # `Base.__init__(self, ...)`
            if not args or args[0].keyword is not None or args[0].star or \
                    not (isinstance(args[0].value, cst.Name) and args[0].value.value == init.self_name):
                return None
            args = args[1:]
        for arg in args:
            value = arg.value
            name = value.value if isinstance(value, cst.Name) else None
            if arg.star == "*" and name is not None and name == star:
                forwarded.extend(rest_positional)
            elif arg.star == "**" and name is not None and name == star_kw:
                forwarded.extend(rest_keywords)
                reach = True
            elif not arg.star and name in bound and len(init.scope.bindings.get(name, ())) == 1:
                # A parameter passed on as it came: the value the script wrote, in the argument that
                # hands it on (a keyword's rename belongs there, an edit of the value at the call).
                item = bound[name]
                forwarded.append(Passed(arg.keyword.value if arg.keyword is not None else None, "", item.value,
                                        arg, item.ctx))
            else:
                forwarded.append(Passed(arg.keyword.value if arg.keyword is not None else None, str(arg.star),
                                        value, arg, inner))
        return forwarded, reach, frozenset(named)

    def _popped(self, init: FunctionInfo, star_kw: str) -> Optional[set]:
        """The literal keys `__init__` always pops off its `**kwargs` before handing them on; None when a
        pop may not run or its key cannot be read."""
        found = set()
        for action in self._facts_of(init.scope).actions:
            if action.scope is init.scope and action.receiver == star_kw and action.kind == ActionKind.CALL \
                    and action.name == "pop" and isinstance(action.subject, cst.Name):
                args = action.node.args
                key = literal(args[0].value) if args and not args[0].keyword and not args[0].star else None
                if action.path or not isinstance(key, str):
                    return None
                found.add(key)
        return found

    def _unchanged(self, init: FunctionInfo, site, names: list[str]) -> bool:
        """Whether `__init__` neither rebinds `*args`/`**kwargs` nor may change them before passing them on
        (an item set or deleted, `kwargs.pop(...)`, handed to another call)."""
        for name in names:
            if len(init.scope.bindings.get(name, ())) != 1:
                return False
        for action in self._facts_of(init.scope).actions:
            if action.scope is init.scope and action.receiver in names and action.node is not site.node \
                    and action.kind != ActionKind.ATTRIBUTE and not (action.kind == ActionKind.CALL and action.name in _READING) \
                    and not (action.kind == ActionKind.CALL and action.name == "pop" and not action.path):
                return False
        return True

"""The rule registry: every `ppdNNN_*.py` module here holds one rule, discovered, not listed."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .base import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    rules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("ppd"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule \
                    and value.__module__ == module.__name__:
                rules.append(value())
    rules.sort(key=lambda rule: rule.code)
    codes = [rule.code for rule in rules]
    if len(codes) != len(set(codes)):
        raise RuntimeError(f"duplicate rule codes: {codes}")
    return tuple(rules)


def rule_of(diagnostic) -> Rule | None:
    """The registered rule that found `diagnostic` (the rule class it carries; by its code for a
    diagnostic made elsewhere, e.g. read back from JSON)."""
    if diagnostic.rule is not None:
        for rule in all_rules():
            if type(rule) is diagnostic.rule:
                return rule
    return find_rule(diagnostic.code)


def find_rule(code_or_name: str) -> Rule | None:
    wanted = code_or_name.strip()
    for rule in all_rules():
        if rule.code.lower() == wanted.lower() or rule.name == wanted.lower():
            return rule
    return None


def select_rules(select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> tuple[Rule, ...]:
    """Rules whose code starts with a selected prefix (all when none) and with no ignored prefix."""

    def matches(code: str, prefixes: tuple[str, ...]) -> bool:
        return any(prefix.upper() == "ALL" or code.startswith(prefix.upper()) for prefix in prefixes)

    return tuple(rule for rule in all_rules()
                 if (not select or matches(rule.code, select)) and not matches(rule.code, ignore))

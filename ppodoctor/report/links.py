"""Links to a rule's documentation, only where the user says a page exists.

ppodoctor has no documentation site of its own: a rule's documentation is `ppodoctor explain CODE`
and docs/rules.md, which a team may publish wherever it likes. `docs-url` in [tool.ppodoctor] names
that place as a template; without it no report carries a link (JSON `url` is null, SARIF rules
have no `helpUri`), so that no report points at a page that does not exist.
"""

from __future__ import annotations

from typing import Optional


def doc_anchor(code: str, name: str) -> str:
    """The anchor of a rule's section in docs/rules.md (`## PPD101 value-model-missing`), as
    GitHub, GitLab and most Markdown renderers make it."""
    return f"{code.lower()}-{name}"


def rule_url(template: Optional[str], code: str, name: str) -> Optional[str]:
    """The rule's page under `template` ({code}, {name} and {anchor} are filled in), or None."""
    if not template or not code:
        return None
    return template.format(code=code, name=name, anchor=doc_anchor(code, name))

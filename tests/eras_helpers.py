"""Shared by the era tests: run the real checker at a version and apply a rule's fixes."""

from __future__ import annotations

from ppodoctor import api
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target


def check(source: str, version: str, select=()):
    report = api.check_source(source, "script.py", settings=Settings(select=tuple(select)), target=Target.of(version))
    assert report.error is None, report.error
    return report.diagnostics


def codes(source: str, version: str, select=()):
    return sorted(d.code for d in check(source, version, select))


def fix_all(source: str, version: str, code: str) -> str:
    """The rule's fixes applied to a fixed point by the real engine (unsafe ones too)."""
    fixed = fix_source(source, "script.py", Settings(select=(code,)), Target.of(version), unsafe=True)
    assert fixed.error is None, fixed.error
    return fixed.text

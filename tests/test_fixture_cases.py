"""Scripts in several styles under fixtures/cases: each names the codes it must give, and only those.

The first lines of a case say `# expect: CODE, CODE` (empty: nothing may fire) and optionally
`# trl-version: X` (default 1.12.0).
"""

from __future__ import annotations

import re

import pytest

from ppodoctor.api import check_file
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES

CASES = sorted((FIXTURES / "cases").glob("*.py"))


def header(path, key):
    match = re.search(rf"^# {key}:(.*)$", path.read_text(), re.MULTILINE)
    return match.group(1).strip() if match else None


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_gives_exactly_its_codes(path):
    expected = {code.strip() for code in (header(path, "expect") or "").split(",") if code.strip()}
    version = header(path, "trl-version") or "1.12.0"
    report = check_file(path, target=Target.of(version))
    assert report.error is None
    assert {d.code for d in report.diagnostics} == expected, [d.message for d in report.diagnostics]

"""Import shims and TRL-version branches (fixtures/shims): each fixture names the exact codes, with
repeats, it must give on each release (`# expect@VERSION: CODE, CODE`; empty: nothing may fire)."""

from __future__ import annotations

import re

import pytest

from ppodoctor.api import check_file
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES

CASES = [(path, version, sorted(code.strip() for code in codes.split(",") if code.strip()))
         for path in sorted((FIXTURES / "shims").glob("*.py"))
         for version, codes in re.findall(r"^# expect@(\S+):(.*)$", path.read_text(), re.MULTILINE)]


@pytest.mark.parametrize("path, version, expected", CASES, ids=[f"{p.stem}@{v}" for p, v, _ in CASES])
def test_shim_gives_exactly_its_codes(path, version, expected):
    report = check_file(path, target=Target.of(version))
    assert report.error is None
    assert sorted(d.code for d in report.diagnostics) == expected, [d.message for d in report.diagnostics]


def test_every_fixture_names_several_releases():
    assert {path.stem for path, _v, _e in CASES} == {p.stem for p in (FIXTURES / "shims").glob("*.py")}
    assert all(sum(1 for p, _v, _e in CASES if p == path) >= 3 for path, _v, _e in CASES)

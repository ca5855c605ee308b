"""The two scripts the issue names: the popular guide's, and TRL's own example."""

from __future__ import annotations

from ppodoctor.api import check_file
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES


def codes(path, version="0.12.2"):
    report = check_file(path, target=Target.of(version))
    assert report.error is None
    return {d.code for d in report.diagnostics}, report


def test_guide_script_lacks_a_value_model():
    found, report = codes(FIXTURES / "guide" / "guide_ppo.py")
    assert "PPD101" in found
    missing = next(d for d in report.diagnostics if d.code == "PPD101")
    # trl 0.12.2 dies in the dropout loop, before anything trains.
    assert "'NoneType' object has no attribute 'modules'" in missing.message
    assert missing.span.line == 32 and missing.fix is not None


def test_guide_suggested_fix_reuses_the_policy():
    found, _report = codes(FIXTURES / "guide" / "guide_ppo_value_is_policy.py")
    assert "PPD109" in found
    assert "PPD101" not in found and "PPD103" not in found  # one problem, one finding: PPD109 names it


def test_trl_example_is_clean_in_every_new_era():
    found, _report = codes(FIXTURES / "trl_example" / "ppo.py", "0.29.0")
    assert found == set(), found
    # ... up to 1.7: `from trl import get_kbit_device_map` is an ImportError from trl 1.8.0 (the 1.8.0 wheel's
    # trl/__init__.py dropped it; tests/test_eras_imports.py imports it for real in trl 1.12.0).
    found, report = codes(FIXTURES / "trl_example" / "ppo.py", "1.12.0")
    assert found == {"PPD209"}, found
    assert "get_kbit_device_map" in report.diagnostics[0].message and "1.8.0" in report.diagnostics[0].message

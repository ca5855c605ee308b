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
    assert {"PPD103", "PPD109"} <= found
    assert "PPD101" not in found


def test_trl_example_is_clean_in_every_new_era():
    for version in ("0.29.0", "1.12.0"):
        found, _report = codes(FIXTURES / "trl_example" / "ppo.py", version)
        assert found == set(), found

"""Every rule's own examples, as `ppodoctor explain` shows them, behave as documented."""

from __future__ import annotations

import pytest

from ppodoctor.api import check_source
from ppodoctor.rules import all_rules
from ppodoctor.trl_api.eras import Target

CASES = [(rule, which, i, example) for rule in all_rules() for which in ("invalid", "valid")
         for i, example in enumerate(rule.examples(which))]


def codes_for(example) -> list[str]:
    report = check_source(example.code, "example.py", target=Target.of(example.trl_version))
    assert report.error is None, report.error
    return [d.code for d in report.diagnostics]


@pytest.mark.parametrize("rule, which, index, example", CASES,
                         ids=[f"{r.code}-{w}-{i}" for r, w, i, _ in CASES])
def test_examples(rule, which, index, example):
    codes = codes_for(example)
    if which == "invalid":
        assert rule.code in codes, f"{rule.code} should fire on:\n{example.code}"
    else:
        assert rule.code not in codes, f"{rule.code} must not fire on:\n{example.code}"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_metadata(rule):
    assert rule.code.startswith("PPD") and len(rule.code) == 6
    assert rule.name == rule.name.lower() and " " not in rule.name
    assert rule.severity in ("error", "warning")
    assert len(rule.documentation()) > 80, "the docstring explains why and how to fix"
    if rule.code < "PPD500":  # runtime-only rules are exercised by the probe's tests
        assert rule.examples("invalid") and rule.examples("valid")


def test_codes_are_unique_and_stable():
    codes = [rule.code for rule in all_rules()]
    assert len(codes) == len(set(codes))
    # Released codes never change meaning.
    names = {rule.code: rule.name for rule in all_rules()}
    assert names["PPD101"] == "value-model-missing"
    assert names["PPD103"] == "value-model-not-classifier"
    assert names["PPD109"] == "value-is-policy"

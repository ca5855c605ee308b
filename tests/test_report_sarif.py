"""SARIF output, validated against the official SARIF 2.1.0 schema (tests/data, draft-04)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator
from report_helpers import BROKEN, checked, error_report, rename_report, warning_report

from ppodoctor.cli import main
from ppodoctor.report import render
from ppodoctor.report.sarif import artifact_uri
from ppodoctor.rules import all_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.schema.json").read_text())
VALIDATOR = Draft4Validator(SCHEMA)


def sarif(report, docs_url=None) -> dict:
    log = json.loads(render(report, "sarif", docs_url=docs_url))
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return log


def test_the_validator_rejects_a_broken_log():
    log = json.loads(render(checked(), "sarif"))
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del log["version"]
    assert len(list(VALIDATOR.iter_errors(log))) >= 2


def test_findings_are_results_with_regions_and_rule_indexes():
    log = sarif(checked())
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.code for rule in all_rules()]
    results = run["results"]
    assert {result["ruleId"] for result in results} == {"PPD101", "PPD106"}
    reference = next(result for result in results if result["ruleId"] == "PPD106")
    assert rules[reference["ruleIndex"]]["id"] == "PPD106"
    assert reference["level"] == "error"
    location = reference["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "train.py"
    assert location["region"] == {"startLine": 4, "startColumn": 32, "endLine": 4, "endColumn": 38}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_rules_carry_their_documentation_and_examples():
    log = sarif(checked())
    descriptor = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "PPD101")
    assert descriptor["name"] == "value-model-missing"
    assert "value model" in descriptor["fullDescription"]["text"]
    assert "Why it breaks" in descriptor["help"]["text"]
    assert "```python" in descriptor["help"]["markdown"]
    assert descriptor["properties"]["fixable"] is True


def test_no_help_uri_unless_a_docs_url_names_a_real_page():
    """ppodoctor has no documentation site: by default no rule links anywhere."""
    log = sarif(checked())
    driver = log["runs"][0]["tool"]["driver"]
    assert not any("helpUri" in rule for rule in driver["rules"]) and "informationUri" not in driver
    assert "://" not in json.dumps({key: value for key, value in log.items() if key != "$schema"})
    linked = sarif(checked(), docs_url="https://wiki.example.org/ppodoctor/rules.md#{anchor}")
    uris = {rule["id"]: rule["helpUri"] for rule in linked["runs"][0]["tool"]["driver"]["rules"]}
    assert uris["PPD101"] == "https://wiki.example.org/ppodoctor/rules.md#ppd101-value-model-missing"
    assert len(uris) == len(all_rules())


def test_text_edit_fixes_become_replacements():
    log = sarif(rename_report())
    first, second = log["runs"][0]["results"]
    assert first["fixes"][0]["description"]["text"] == "Rename `ppo_epochs=` to `num_ppo_epochs=`"
    assert first["fixes"][0]["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"startLine": 2, "startColumn": 20, "endLine": 2, "endColumn": 30},
         "insertedContent": {"text": "num_ppo_epochs"}}]
    assert second["fixes"][0]["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"startLine": 2, "startColumn": 34, "endLine": 2, "endColumn": 42},
         "insertedContent": {"text": "report_to"}}]


def test_structural_fixes_without_a_preview_keep_their_description():
    log = sarif(checked())
    for result in log["runs"][0]["results"]:
        assert result["properties"]["fix"]["applicability"] == "safe"
        # With no fix engine preview the edit is not known, and SARIF fixes need concrete edits.
        if "fixes" in result:
            assert result["fixes"][0]["artifactChanges"][0]["replacements"]


def test_warnings_and_odd_paths():
    log = sarif(warning_report())
    result = log["runs"][0]["results"][0]
    assert result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dir/a%20file%2Cx.py"


def test_unreadable_files_become_notifications():
    log = sarif(error_report())
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notification = invocation["toolExecutionNotifications"][0]
    assert notification["message"]["text"].startswith("syntax error")
    assert notification["descriptor"] == {"id": "file-error"} and notification["level"] == "error"
    assert len(log["runs"][0]["results"]) == 2


def test_a_syntax_error_notification_points_at_its_region(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"import trl\ndef broken(:\n")
    result = CliRunner().invoke(main, ["check", "--output-format", "sarif", str(bad), str(tmp_path / "gone.py")])
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    assert not list(VALIDATOR.iter_errors(log))
    notifications = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    locations = [n["locations"][0]["physicalLocation"] for n in notifications]
    assert locations[0]["region"] == {"startLine": 2, "startColumn": 12} and "region" not in locations[1]
    assert [n["message"]["text"] for n in notifications] == ["syntax error at 2:12: invalid syntax",
                                                             "no such file or directory"]
    # ...and each is also its one line on stderr.
    assert result.stderr.splitlines() == [f"{bad}: error: syntax error at 2:12: invalid syntax",
                                          f"{tmp_path / 'gone.py'}: error: no such file or directory"]


def test_empty_report_is_valid():
    log = sarif(checked("print('nothing to see')\n"))
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize("path,uri", [("a/b.py", "a/b.py"), ("/abs/x y.py", "file:///abs/x%20y.py")])
def test_artifact_uris(path, uri):
    assert artifact_uri(path) == uri


def test_cli_writes_sarif_to_a_file(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    out = tmp_path / "report.sarif"
    result = CliRunner().invoke(main, ["check", str(script), "--output-format", "sarif", "--output-file", str(out)])
    assert result.exit_code == 1
    assert result.output == ""
    log = json.loads(out.read_text())
    assert not list(VALIDATOR.iter_errors(log))
    assert len(log["runs"][0]["results"]) == 2

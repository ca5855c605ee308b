"""The shared types every layer uses: the exit status, the one diff."""

from __future__ import annotations

import pytest

from ppodoctor.textdiff import file_diff
from ppodoctor.types import ExitStatus, exit_status


@pytest.mark.parametrize("errors, left, expected", [(False, False, 0), (False, True, 1), (True, False, 2),
                                                    (True, True, 2)])
def test_one_exit_status_rule(errors, left, expected):
    status = exit_status(errors=errors, left=left)
    assert status == expected and isinstance(status, ExitStatus)


def test_every_report_answers_with_the_one_rule():
    from ppodoctor.core import CheckReport, FileReport
    from ppodoctor.pipeline.fix import FixReport
    from ppodoctor.pipeline.migrate import statuses

    assert CheckReport(()).exit_code is ExitStatus.CLEAN
    assert CheckReport((FileReport("a.py", error="cannot read"),)).exit_code is ExitStatus.ERROR
    assert FixReport(()).exit_code is ExitStatus.CLEAN
    assert statuses(()) is ExitStatus.CLEAN


def test_the_diff_compares_lines_not_line_endings():
    assert file_diff("a.py", "x = 1\r\ny = 2\r\n", "x = 1\r\ny = 2\r\n") == ""
    diff = file_diff("a.py", "x = 1\r\ny = 2\r\n", "x = 1\r\ny = 3\r\n")
    assert diff.splitlines()[:2] == ["--- a.py", "+++ a.py"]
    assert "-y = 2" in diff and "+y = 3" in diff and " x = 1" in diff


def test_a_finding_carries_the_rule_that_found_it():
    from ppodoctor.api import check_source
    from ppodoctor.rules import find_rule, rule_of

    source = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
              "trainer = PPOTrainer(args=PPOConfig(output_dir='o'), processing_class=tok, model=policy,\n"
              "                     ref_model=ref, reward_model=rm, train_dataset=ds)\n")
    diagnostics = check_source(source, "s.py").diagnostics
    assert diagnostics
    for diagnostic in diagnostics:
        assert diagnostic.rule is type(find_rule(diagnostic.code))
        assert rule_of(diagnostic) is find_rule(diagnostic.code)


def test_runtime_findings_respect_what_supersedes_them():
    """A rule's runtime findings are dropped beside a finding of a rule it declares `superseded_by`,
    and beside its own static finding on the same trainer call; kept otherwise."""
    from ppodoctor.api import check_source
    from ppodoctor.pipeline.verdicts import runtime_findings
    from ppodoctor.rules import find_rule
    from ppodoctor.rules.base import Rule
    from ppodoctor.types import WARNING, Span

    source = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
              "trainer = PPOTrainer(args=PPOConfig(output_dir='o'), processing_class=tok, model=policy,\n"
              "                     ref_model=ref, reward_model=rm, train_dataset=ds)\n")
    report = check_source(source, "s.py")
    missing_value = [d for d in report.diagnostics if d.code == "PPD101"]
    assert missing_value

    class Seen(Rule):
        code, name, severity, summary = "PPD999", "seen", WARNING, "test"

        def from_probe(self, setup, facts, already):
            yield self.report("runtime", Span(1, 1, 1, 1), setup), "evidence"

    class Superseded(Seen):
        superseded_by = (type(find_rule("PPD101")),)

    class Facts:
        def setup_facts(self, index):
            return {}

    found = runtime_findings(report.setup, Facts(), missing_value, (Seen(), Superseded()))
    assert [d.rule for d in found] == [Seen]
    assert runtime_findings(report.setup, Facts(), (), (Superseded(),))  # nothing supersedes it here
    again = runtime_findings(report.setup, Facts(), found, (Seen(),))
    assert again == ()  # its own finding on the call is there already

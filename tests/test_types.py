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

"""The human and machine formats besides SARIF: text, concise, json-lines, github; colour; progress."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from report_helpers import BROKEN, checked, error_report, rename_report, warning_report

from ppodoctor import api
from ppodoctor.cli import main
from ppodoctor.report import FORMATS, render
from ppodoctor.report.fixdiff import fix_regions
from ppodoctor.report.terminal import PROGRESS_MIN_FILES, color_enabled, progress_for

ANSI = "\x1b["


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as sys.stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_text_keeps_the_ruff_headline_and_shows_a_code_frame():
    text = render(checked(), "text")
    assert "train.py:4:32: PPD106 [*] the reference model `policy` is the policy object" in text
    assert "4 |                      ref_model=policy," in text
    assert "  |                                ^^^^^^ PPD106" in text
    assert "= fix (safe): Give the reference model its own copy" in text
    assert ANSI not in text


def test_text_shows_a_text_edit_fix_as_a_small_diff():
    text = render(rename_report(), "text")
    assert text.count('-config = PPOConfig(ppo_epochs=4, log_with="wandb")') == 2
    assert '+config = PPOConfig(num_ppo_epochs=4, log_with="wandb")' in text  # each finding's own fix
    assert '+config = PPOConfig(ppo_epochs=4, report_to="wandb")' in text


def test_colour_marks_codes_and_diff_lines():
    text = render(rename_report(), "text", color=True)
    assert "\x1b[31m\x1b[1mPPD205" in text  # an error's code in bold red
    assert '\x1b[32m+config = PPOConfig(num_ppo_epochs=4' in text


def test_concise_is_one_line_per_finding():
    lines = render(checked(), "concise").splitlines()
    assert lines[0].startswith("train.py:3:11: PPD101 [*] ")
    assert lines[1].startswith("train.py:4:32: PPD106 [*] ")
    assert lines[2].startswith("Found 2 problems")


def test_json_lines_is_one_object_per_finding():
    lines = render(checked(), "json-lines").splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["PPD101", "PPD106"]
    assert json.loads(lines[1])["location"] == {"row": 4, "column": 32}
    assert render(checked("x = 1\n"), "json-lines") == ""


def test_github_annotations():
    lines = render(checked(), "github").splitlines()
    assert lines[1].startswith("::error file=train.py,line=4,col=32,endLine=4,endColumn=38,"
                               "title=PPD106 reference-is-policy::the reference model")
    assert "%0AFix: Give the reference model its own copy" in lines[1]


def test_github_warnings_and_escaping():
    line = render(warning_report(), "github").strip()
    assert line.startswith("::warning file=dir/a file%2Cx.py,line=2,col=1,")
    assert line.endswith("::pad token set to eos, with a comma: yes")


def test_github_reports_unreadable_files():
    first = render(error_report(), "github").splitlines()[0]
    assert first == "::error file=bad.py,title=ppodoctor::syntax error at 1:5: unexpected token"
    report = api.CheckReport((api.check_source(b"import trl\ndef broken(:\n", "bad.py"),))
    assert render(report, "github") == "::error file=bad.py,line=2,col=12,title=ppodoctor::" \
                                       "syntax error at 2:12: invalid syntax\n"


def test_every_format_renders():
    for output_format in FORMATS:
        assert render(checked(), output_format)
    with pytest.raises(ValueError):
        render(checked(), "xml")


@pytest.mark.parametrize("env,tty,expected", [
    ({}, True, True), ({}, False, False), ({"NO_COLOR": "1"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True), ({"CLICOLOR_FORCE": "1"}, False, True),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False), ({"FORCE_COLOR": "0"}, True, False),
    ({"NO_COLOR": ""}, True, True),
])
def test_colour_decision(monkeypatch, env, tty, expected):
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert color_enabled(Terminal() if tty else io.StringIO()) is expected


def test_cli_output_is_plain_when_piped_and_coloured_when_forced(tmp_path, monkeypatch):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    piped = CliRunner().invoke(main, ["check", str(script)])
    assert piped.exit_code == 1 and ANSI not in piped.output
    forced = CliRunner().invoke(main, ["check", str(script)], env={"FORCE_COLOR": "1"})
    assert forced.exit_code == 1 and ANSI in forced.output
    both = CliRunner().invoke(main, ["check", str(script)], env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert ANSI not in both.output


def test_cli_output_file_gets_no_colour(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    out = tmp_path / "report.txt"
    result = CliRunner().invoke(main, ["check", str(script), "--output-file", str(out)], env={"FORCE_COLOR": "1"})
    assert result.exit_code == 1 and result.output == ""
    text = out.read_text()
    assert "PPD106" in text and ANSI not in text


def test_cli_output_file_that_cannot_be_written(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    result = CliRunner().invoke(main, ["check", str(script), "-o", str(tmp_path / "missing" / "r.txt")])
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_cli_json_lines_and_github(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    lines = CliRunner().invoke(main, ["check", str(script), "--output-format", "json-lines"]).output.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["filename"] == str(script) for line in lines)
    github = CliRunner().invoke(main, ["check", str(script), "--output-format", "github"]).output
    assert github.count("::error file=") == 2


def test_progress_bar_only_for_many_files_on_a_terminal():
    assert progress_for(PROGRESS_MIN_FILES - 1, Terminal()) is None
    assert progress_for(500, io.StringIO()) is None
    stream = Terminal()
    with progress_for(PROGRESS_MIN_FILES, stream) as bar:
        for _ in range(PROGRESS_MIN_FILES):
            bar.update(1)
    assert f"{PROGRESS_MIN_FILES}/{PROGRESS_MIN_FILES} files" in stream.getvalue()
    assert stream.getvalue().endswith("\n")  # click finishes the bar on its own line


def test_progress_bar_redraws_a_bounded_number_of_times():
    """A redraw costs more than screening a file: 10,000 files redraw about a hundred times."""
    stream = Terminal()
    with progress_for(10_000, stream) as bar:
        for _ in range(10_000):
            bar.update(1)
    assert "10000/10000 files" in stream.getvalue()
    assert 50 < stream.getvalue().count("\r") < 150


def test_the_check_command_drives_the_bar_per_file(tmp_path, monkeypatch):
    from ppodoctor import cli_check
    from ppodoctor.config import Settings
    from ppodoctor.report import terminal

    for index in range(PROGRESS_MIN_FILES + 5):
        (tmp_path / f"s{index}.py").write_text("x = 1\n")
    stream, real = Terminal(), terminal.progress_for
    monkeypatch.setattr(terminal, "progress_for", lambda total: real(total, stream))
    report = cli_check._check_with_progress(api, [tmp_path], Settings(), quiet=False)
    total = PROGRESS_MIN_FILES + 5
    assert len(report.files) == total and f"{total}/{total} files" in stream.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(terminal, "progress_for", lambda total: real(total, quiet))
    cli_check._check_with_progress(api, [tmp_path], Settings(), quiet=True)
    assert quiet.getvalue() == ""


def test_check_paths_reports_progress_per_file(tmp_path):
    for index in range(3):
        (tmp_path / f"s{index}.py").write_text(BROKEN if index else "x = 1\n")
    seen = []

    def start(total):
        seen.append(total)
        return lambda: seen.append("file")

    report = api.check_paths([tmp_path], progress=start)
    assert seen == [3, "file", "file", "file"]
    assert len(report.diagnostics) == 4


def test_fix_regions_are_the_rules_own_edits_in_line_and_column():
    report = rename_report()
    file_report = report.files[0]
    regions = [fix_regions(file_report, d) for d in file_report.diagnostics]
    assert [(r.line, r.column, r.end_line, r.end_column, r.text) for (r,) in regions] == [
        (2, 20, 2, 30, "num_ppo_epochs"), (2, 34, 2, 42, "report_to")]


def test_no_format_imports_torch_transformers_or_trl(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    code = ("import sys\nfrom ppodoctor.cli import main\n"
            f"for fmt in {FORMATS!r}:\n"
            "    try:\n"
            f"        main(['check', {str(script)!r}, '--output-format', fmt, '-o', {str(tmp_path / 'out')!r}])\n"
            "    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_structural_fix_previews_come_from_the_fix_engine():
    pytest.importorskip("ppodoctor.fixes.builders", reason="the fix engine is not in this tree")
    report = checked()
    text = render(report, "text")
    frame = text.split("PPD106 [*]", 1)[1].split("\n\n", 1)[0]
    removed = [line.strip()[1:] for line in frame.splitlines() if line.strip().startswith("-")]
    added = [line.strip()[1:] for line in frame.splitlines() if line.strip().startswith("+")]
    assert any("ref_model=policy" in line for line in removed), frame
    assert added and not any("ref_model=policy," in line for line in added), frame
    # The same edits reach SARIF as exact regions: `policy` becomes `create_reference_model(policy)`.
    log = json.loads(render(report, "sarif"))
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "PPD106")
    replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert {"deletedRegion": {"startLine": 4, "startColumn": 32, "endLine": 4, "endColumn": 38},
            "insertedContent": {"text": "create_reference_model(policy)"}} in replacements

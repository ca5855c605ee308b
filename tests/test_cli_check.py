"""`ppodoctor check`, `rules` and `explain` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from ppodoctor.cli import main

from conftest import FIXTURES, ROOT

BROKEN = textwrap.dedent("""\
    from transformers import AutoModelForCausalLM
    from trl.experimental.ppo import PPOTrainer

    model = AutoModelForCausalLM.from_pretrained("sft")
    trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=model,
                         reward_model=rm, train_dataset=ds)
    """)
CLEAN = "print('no PPO here')\n"


def run(*args, cwd=None):
    runner = CliRunner()
    return runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(BROKEN)
    return path


def test_text_output_lines_sorted_with_frame_and_summary(broken):
    result = run("check", str(broken))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(broken))]
    # PPD101 (missing value model) and PPD106 (ref is the policy), in file order.
    assert [line.split(": ")[1].split()[0] for line in lines] == ["PPD101", "PPD106"]
    assert lines[0].startswith(f"{broken}:5:11: PPD101 [*] ")
    assert lines[1].startswith(f"{broken}:5:77: PPD106 [*] ")
    assert "5 | trainer = PPOTrainer(" in result.output
    assert "^^^^^^^^^^ PPD101" in result.output
    assert "Found 2 problems (2 errors, 0 warnings)." in result.output
    assert "Checked against trl 1.12.0" in result.output


def test_clean_file_exits_zero(tmp_path):
    path = tmp_path / "other.py"
    path.write_text(CLEAN)
    result = run("check", str(path))
    assert result.exit_code == 0 and "All checks passed!" in result.output


def test_json_output(broken):
    result = run("check", "--output-format", "json", str(broken))
    assert result.exit_code == 1
    items = json.loads(result.output)
    assert [item["code"] for item in items] == ["PPD101", "PPD106"]
    first = items[0]
    assert set(first) >= {"code", "name", "severity", "message", "filename", "location", "end_location", "fix", "url"}
    assert first["location"] == {"row": 5, "column": 11}
    assert first["end_location"] == {"row": 5, "column": 21}
    assert first["fix"]["applicability"] == "safe" and first["severity"] == "error"
    # No documentation site exists unless the configuration names one (docs-url): no link at all.
    assert first["name"] == "value-model-missing" and first["url"] is None


def test_docs_url_from_the_configuration_fills_json_urls(tmp_path, broken):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ppodoctor]\ndocs-url = "https://docs.example.org/ppodoctor/rules.html#{anchor}"\n')
    items = json.loads(run("check", "--output-format", "json", str(broken)).stdout)
    assert [item["url"] for item in items] == [
        "https://docs.example.org/ppodoctor/rules.html#ppd101-value-model-missing",
        "https://docs.example.org/ppodoctor/rules.html#ppd106-reference-is-policy"]
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\ndocs-url = "https://x.org/{code}/{name}.html"\n')
    assert json.loads(run("check", "--output-format", "json", str(broken)).stdout)[0]["url"] == \
        "https://x.org/PPD101/value-model-missing.html"
    for bad in ('"https://x.org/{rule}"', '"rules.md#{code}"', "3"):
        (tmp_path / "pyproject.toml").write_text(f"[tool.ppodoctor]\ndocs-url = {bad}\n")
        result = run("check", str(broken))
        assert result.exit_code == 2 and "docs-url" in result.stderr, (bad, result.output)


def test_select_and_ignore_take_codes_and_prefixes(broken):
    assert "PPD106" not in run("check", "--select", "PPD101", str(broken)).output
    only_106 = run("check", "--ignore", "PPD101", str(broken))
    assert "PPD106" in only_106.output and "PPD101" not in only_106.output
    assert run("check", "--select", "PPD3", str(broken)).exit_code == 0
    assert run("check", "--select", "PPD1", "--ignore", "PPD10", str(broken)).exit_code == 0
    assert run("check", "--select", "XYZ9", str(broken)).exit_code == 2


def test_noqa_on_call_line_or_argument_line(tmp_path):
    path = tmp_path / "t.py"
    path.write_text(BROKEN.replace("model = AutoModelForCausalLM", "model = AutoModelForCausalLM")
                    .replace("trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=model,",
                             "trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=model,  # noqa: PPD101"))
    result = run("check", "--output-format", "json", str(path))
    assert [d["code"] for d in json.loads(result.output)] == ["PPD106"]
    path.write_text(BROKEN.replace("ref_model=model,", "ref_model=model,  # noqa"))
    assert run("check", str(path)).exit_code == 0


def test_pyproject_settings_apply(tmp_path, broken):
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nignore = ["PPD106"]\n')
    result = run("check", "--output-format", "json", str(broken))
    assert [d["code"] for d in json.loads(result.output)] == ["PPD101"]
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nexclude = ["train.py"]\n')
    assert run("check", str(tmp_path)).exit_code == 0
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nunknown-option = 1\n')
    assert run("check", str(broken)).exit_code == 2


def test_directories_and_unreadable_files_still_check_the_rest(tmp_path, broken):
    (tmp_path / "bad.py").write_text("import trl\ndef broken(:\n")
    (tmp_path / "ok.py").write_text("import trl\n")
    result = run("check", "--output-format", "concise", str(tmp_path), str(tmp_path / "missing.py"))
    assert result.exit_code == 2
    # Errors go to stderr, the findings to stdout.
    assert f"{tmp_path / 'bad.py'}: error: syntax error" in result.stderr
    assert f"{tmp_path / 'missing.py'}: error: no such file or directory" in result.stderr
    assert ": error: " not in result.stdout
    assert "PPD101" in result.stdout, "the broken script is still checked"
    assert "2 files could not be checked" in result.stdout


def test_rules_and_explain():
    listing = run("rules").output
    assert "PPD101 [*] value-model-missing" in listing and "PPD401" in listing
    explained = run("explain", "PPD103")
    assert explained.exit_code == 0
    assert "object has no attribute 'score'" in explained.output
    assert "## Fires on" in explained.output and "## Does not fire on" in explained.output
    assert run("explain", "value-is-policy").exit_code == 0
    assert run("explain", "PPD999").exit_code == 2


def test_check_never_imports_the_heavy_stack():
    """The static path must start fast: torch, transformers and trl stay unimported."""
    code = ("import sys\nfrom ppodoctor.cli import main\n"
            "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "guide" / "guide_ppo.py")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"

"""`ppodoctor server`: a real LSP client (pygls's) drives the server over stdio, as an editor does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls.lsp.server")  # pygls 2 (`pip install .[server]`)

from lsprotocol import types  # noqa: E402

from lsp_client import ROOT, Session, apply_text_edits, edits_of  # noqa: E402
from probe_helpers import new_script  # noqa: E402

# A trl 1.12-style script without a value model (PPD101, a safe fix); an astral character before
# the trainer on its line puts the UTF-16 column one past the code-point column.
BROKEN = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("sft")
tokenizer.add_special_tokens({"pad_token": "[PAD]"})
model = AutoModelForCausalLM.from_pretrained("sft")
ref_model = AutoModelForCausalLM.from_pretrained("sft")
reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)

tag = "\U0001F917 ppo"; trainer = PPOTrainer(
    args=PPOConfig(output_dir="out"),
    processing_class=tokenizer,
    model=model,
    ref_model=ref_model,
    reward_model=reward_model,
    train_dataset=dataset,
)
'''
VALUE_MODEL = '    value_model=AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1),\n'
FIXED_BY_HAND = BROKEN.replace('    train_dataset=dataset,\n', '    train_dataset=dataset,\n' + VALUE_MODEL)
# The reward model is loaded as a causal LM from a checkpoint whose files are not on disk: PPD104,
# whose fix is unsafe (only a checkpoint trained as a reward model gives meaningful rewards).
VALUE_IS_POLICY = BROKEN.replace('    train_dataset=dataset,\n', '    value_model=model,\n    train_dataset=dataset,\n')
REWARD_IS_CAUSAL = FIXED_BY_HAND.replace(
    'reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)',
    'reward_model = AutoModelForCausalLM.from_pretrained("rm")')
SYNTAX_ERROR = BROKEN.replace("    model=model,\n", "    model=model,,\n")
PPD101_RANGE = types.Range(types.Position(9, 26), types.Position(9, 36))  # `PPOTrainer`, UTF-16 columns


def codes(diagnostics) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(scope="module")
def session(workspace):
    session = Session(root=workspace)
    yield session
    assert session.close_session() == 0


def test_initialize_advertises_sync_code_actions_and_the_probe_command(session):
    capabilities = session.capabilities
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Full
    assert capabilities.text_document_sync.open_close and capabilities.text_document_sync.save
    assert set(capabilities.code_action_provider.code_action_kinds) == {"quickfix", "source.fixAll.ppodoctor"}
    assert list(capabilities.execute_command_provider.commands) == ["ppodoctor.probe"]
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16


def test_open_publishes_codes_severities_and_utf16_ranges(session, workspace):
    from ppodoctor.api import check_source

    uri = write(workspace, "open.py", BROKEN)
    diagnostics = session.open(uri, BROKEN)
    assert codes(diagnostics) == ["PPD101"]
    [found] = diagnostics
    assert found.range == PPD101_RANGE
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.source == "ppodoctor"
    [expected] = check_source(BROKEN, str(workspace / "open.py")).diagnostics
    assert found.message == expected.message
    url = getattr(expected, "url", None)
    assert (found.code_description.href if found.code_description else None) == (url or None)
    assert found.data["fix"]["applicability"] == "safe"
    assert found.data["probe"] is None


def test_change_relints_and_a_fixed_text_clears_the_diagnostics(session, workspace):
    uri = write(workspace, "change.py", BROKEN)
    assert codes(session.open(uri, BROKEN)) == ["PPD101"]
    assert session.change(uri, FIXED_BY_HAND, 2) == []
    assert codes(session.change(uri, VALUE_IS_POLICY, 3)) == ["PPD109"]
    assert session.close(uri) == []


def test_keystrokes_are_debounced_into_one_check(session, workspace):
    uri = write(workspace, "typing.py", BROKEN)
    session.open(uri, BROKEN)
    mark = session.mark(uri)
    for version in range(2, 7):
        session.change(uri, BROKEN + "#" * version + "\n", version, wait=False)
    assert codes(session.diagnostics_after(uri, mark, 6)) == ["PPD101"]
    session.settle(0.4)
    versions = [p.version for p in session.published[uri][mark:]]
    # One check for the burst (two at most, should the machine stall between two keystrokes).
    assert versions[-1] == 6 and len(versions) <= 2, versions


def test_a_syntax_error_is_one_diagnostic_and_the_server_carries_on(session, workspace):
    uri = write(workspace, "syntax.py", BROKEN)
    session.open(uri, BROKEN)
    [error] = session.change(uri, SYNTAX_ERROR, 2)
    assert error.code is None and error.severity == types.DiagnosticSeverity.Error
    assert "syntax" in error.message and error.range.start.line == 12
    assert session.code_actions(uri, error.range) == []
    assert codes(session.change(uri, BROKEN, 3)) == ["PPD101"]


def test_quick_fix_is_the_fix_and_lints_clean(session, workspace):
    from ppodoctor.pipeline.fix import fix_source

    uri = write(workspace, "quickfix.py", BROKEN)
    [diagnostic] = session.open(uri, BROKEN)
    actions = session.code_actions(uri, types.Range(PPD101_RANGE.start, PPD101_RANGE.start), ["quickfix"],
                                   [diagnostic])
    [action] = actions
    assert action.kind == types.CodeActionKind.QuickFix and action.is_preferred
    assert action.title.startswith("ppodoctor (PPD101): Add `value_model=`") and "unsafe" not in action.title
    assert [str(d.code) for d in action.diagnostics] == ["PPD101"]
    edits = edits_of(action.edit, uri)
    assert len(edits) == 2 and all(edit.range.start == edit.range.end for edit in edits)  # two insertions
    fixed = apply_text_edits(BROKEN, edits)
    assert fixed == fix_source(BROKEN, str(workspace / "quickfix.py")).text
    assert session.change(uri, fixed, 2) == []
    assert session.code_actions(uri, PPD101_RANGE) == []


def test_no_quick_fix_away_from_the_finding(session, workspace):
    uri = write(workspace, "elsewhere.py", BROKEN)
    session.open(uri, BROKEN)
    nowhere = types.Range(types.Position(3, 0), types.Position(3, 5))
    assert session.code_actions(uri, nowhere, ["quickfix"]) == []


def test_fix_all_applies_every_safe_fix(session, workspace):
    from ppodoctor.pipeline.fix import fix_source

    text = BROKEN.replace("trainer = PPOTrainer(", "trainer = PPOTrainer(  # two findings, two fixes")
    text = text.replace('tokenizer.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    # The tokenizer's saved files say it has no pad token: adding one is a safe fix.
    (workspace / "padless" / "sft").mkdir(parents=True)
    (workspace / "padless" / "sft" / "tokenizer_config.json").write_text('{"pad_token": null}')
    uri = write(workspace / "padless", "fixall.py", text)
    assert codes(session.open(uri, text)) == ["PPD101", "PPD301"]
    anywhere = types.Range(types.Position(0, 0), types.Position(0, 0))
    [action] = session.code_actions(uri, anywhere, ["source.fixAll"])
    assert action.kind == "source.fixAll.ppodoctor"
    fixed = apply_text_edits(text, edits_of(action.edit, uri))
    assert fixed == fix_source(text, str(workspace / "padless" / "fixall.py")).text
    assert "# two findings, two fixes" in fixed
    assert session.change(uri, fixed, 2) == []
    assert session.code_actions(uri, anywhere, ["source.fixAll"]) == []


def test_unsafe_fixes_are_offered_only_with_the_setting(session, workspace):
    uri = write(workspace, "unsafe.py", REWARD_IS_CAUSAL)
    diagnostics = session.open(uri, REWARD_IS_CAUSAL)
    assert {d.data["fix"]["applicability"] for d in diagnostics} == {"unsafe"}
    where = diagnostics[0].range
    assert session.code_actions(uri, where) == []  # no quick fix, and fix-all has nothing safe to do


def test_unsafe_quick_fix_with_unsafe_fixes_on(workspace):
    session = Session(initialization_options={"settings": {"unsafeFixes": True}}, root=workspace,
                      document_changes=True)
    try:
        uri = write(workspace, "unsafe_on.py", REWARD_IS_CAUSAL)
        diagnostics = session.open(uri, REWARD_IS_CAUSAL, version=7)
        ppd104 = next(d for d in diagnostics if d.code == "PPD104")
        actions = session.code_actions(uri, ppd104.range, ["quickfix"])
        assert [a.title.split(":")[0] for a in actions] == ["ppodoctor (PPD104)"]
        action = actions[0]
        assert action.title.endswith("(unsafe)") and not action.is_preferred
        [change] = action.edit.document_changes  # a versioned edit: the client refuses it on a newer text
        assert change.text_document.version == 7
        fixed = apply_text_edits(REWARD_IS_CAUSAL, change.edits)
        anywhere = types.Range(types.Position(0, 0), types.Position(0, 0))
        [fix_all] = session.code_actions(uri, anywhere, ["source.fixAll.ppodoctor"])  # unsafe ones included
        assert apply_text_edits(REWARD_IS_CAUSAL, fix_all.edit.document_changes[0].edits) == fixed
        assert session.change(uri, fixed, 8) == []
    finally:
        assert session.close_session() == 0


def test_settings_from_initialization_options_and_configuration_changes(workspace):
    uri = write(workspace, "settings.py", VALUE_IS_POLICY)
    session = Session(initialization_options={"select": ["PPD109"]}, configuration={}, root=workspace)
    try:
        assert codes(session.open(uri, VALUE_IS_POLICY)) == ["PPD109"]
        assert session.configuration_requests >= 1  # pulled after `initialized`

        mark = session.mark(uri)
        session.configure({"select": [], "ignore": ["PPD109"]})
        assert codes(session.diagnostics_after(uri, mark)) == ["PPD103"]

        mark = session.mark(uri)
        session.configure({"ignore": [], "trlVersion": "0.12.2"})
        found = session.diagnostics_after(uri, mark)
        assert "PPD202" in codes(found) and "PPD201" in codes(found)
        assert all("1.12.0" not in d.message for d in found)

        mark = session.mark(uri)  # the push model: the settings come in the notification itself
        session.configure(None, push={"ppodoctor": {"trlVersion": "1.12.0", "ignore": ["PPD103"]}})
        assert codes(session.diagnostics_after(uri, mark)) == ["PPD109"]

        mark = session.mark(uri)
        session.configure({"trlVersion": "one point twelve", "select": ["PPD999"]})
        session.wait(lambda: len(session.shown) >= 2, "two warnings about the settings")
        assert any("trlVersion" in message for message in session.shown)
        assert any("PPD999" in message for message in session.shown)
        assert codes(session.diagnostics_after(uri, mark)) == ["PPD109"]  # the bad values are left out

        mark, shown = session.mark(uri), len(session.shown)  # other tools' settings pushed: not ours
        session.configure({"trlVersion": "1.12.0", "ignore": ["PPD103"]}, push={"python": {"analysis": {}}})
        assert codes(session.diagnostics_after(uri, mark)) == ["PPD109"]
        assert len(session.shown) == shown

        broken = write(workspace, "settings_syntax.py", SYNTAX_ERROR)
        assert len(session.open(broken, SYNTAX_ERROR)) == 1
        mark = session.mark(broken)
        session.configure({"showSyntaxErrors": False})
        assert session.diagnostics_after(broken, mark) == []
    finally:
        assert session.close_session() == 0


def test_target_from_the_workspace_pyproject_and_requirements(tmp_path):
    (tmp_path / "pinned").mkdir()
    (tmp_path / "configured").mkdir()
    (tmp_path / "configured" / "pyproject.toml").write_text('[tool.ppodoctor]\ntrl-version = "0.12.2"\n')
    (tmp_path / "pinned" / "requirements.txt").write_text("trl==0.12.2\ntransformers==4.46.3\n")
    configured = write(tmp_path / "configured", "train.py", BROKEN)
    pinned = write(tmp_path / "pinned", "train.py", BROKEN)
    # An interpreter that has no TRL installed (no site-packages), so the pin decides the target.
    bare = tmp_path / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    session = Session(root=tmp_path)
    try:
        assert "PPD202" in codes(session.open(configured, BROKEN))  # trl 0.12 has no trl.experimental.ppo
        assert codes(session.open(pinned, BROKEN)) == ["PPD101"]  # our interpreter's trl 1.12 wins over pins
        mark = session.mark(pinned)
        session.configure(None, push={"ppodoctor": {"python": str(bare)}})
        assert "PPD202" in codes(session.diagnostics_after(pinned, mark))
    finally:
        assert session.close_session() == 0


def test_target_from_the_python_setting(workspace):
    if not (ROOT / ".venv-trl012" / "bin" / "python").exists():
        pytest.skip("no .venv-trl012 (PPODOCTOR_SKIP_TRL012)")
    uri = write(workspace, "interpreter.py", BROKEN)
    # VS Code's list form, and a path relative to the workspace root (here the repository's).
    session = Session(initialization_options={"interpreter": [".venv-trl012/bin/python"]}, root=ROOT)
    try:
        found = session.open(uri, BROKEN)
        assert "PPD202" in codes(found)
        assert any("0.12.2" in d.message for d in found)
    finally:
        assert session.close_session() == 0


def test_probe_command_and_probe_on_save(tmp_path):
    # Fixture models on disk and no value model (PPD101, which the probe reproduces); the editor says
    # the script meets trl 0.25.1, which has no trl.experimental (PPD202), but the interpreter the
    # probe runs in has trl 1.12, where the import works (refuted).
    script = new_script(value=None)
    uri = write(tmp_path, "probed.py", script)
    bare = tmp_path / "no-torch-python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    session = Session(root=tmp_path, initialization_options={"trlVersion": "0.25.1"})
    try:
        static = session.open(uri, script)
        assert codes(static) == ["PPD101", "PPD202", "PPD202"]  # PPOConfig and PPOTrainer
        assert all("[probe:" not in d.message and d.data["probe"] is None for d in static)
        mark = session.mark(uri)
        result = session.execute("ppodoctor.probe", uri)
        verdicts = session.diagnostics_after(uri, mark, where=lambda found: any(d.data["probe"] for d in found))
        probed = {d.code: d for d in verdicts}
        assert probed["PPD101"].data["probe"] == "confirmed" and "[probe: confirmed" in probed["PPD101"].message
        assert probed["PPD101"].severity == types.DiagnosticSeverity.Error
        assert probed["PPD202"].data["probe"] == "refuted" and "[probe: refuted" in probed["PPD202"].message
        assert probed["PPD202"].severity == types.DiagnosticSeverity.Information
        assert result["probed"] and result["verdicts"] == {"confirmed": 1, "refuted": 2}, result
        # A keystroke gives a new text: the verdicts were about the old one and are dropped.
        typed = session.change(uri, script + "\n", 2)
        assert [d.data["probe"] for d in typed] == [None, None, None]
        # Saving probes only with probeOnSave; here in an interpreter without torch: unchecked.
        session.save(uri)
        session.settle(0.5)
        assert all(d.data["probe"] is None for d in session.published[uri][-1].diagnostics)
        session.configure(None, push={"ppodoctor": {"probeOnSave": True, "python": str(bare)}})
        session.settle(0.5)
        mark = session.save(uri)
        session.wait(lambda: any(d.data["probe"] for p in session.published[uri][mark:] for d in p.diagnostics),
                     "a verdict after saving")
        saved = session.published[uri][-1].diagnostics
        assert {d.data["probe"] for d in saved} == {"unchecked"}
        assert all("[probe: unchecked" in d.message for d in saved)
        # Without an argument (Helix's :lsp-workspace-command): every open document.
        [everything] = session.execute("ppodoctor.probe")
        assert everything["uri"] == uri and everything["verdicts"] == {"unchecked": 3}, everything
        assert "error" in session.execute("ppodoctor.probe", 42)
    finally:
        assert session.close_session() == 0


def test_exit_without_shutdown_is_status_1_and_a_missing_pygls_is_said(tmp_path):
    session = Session()
    session.client.exit(None)
    session.run(session.client.stop())
    session.loop.close()
    assert session.client.returncode == 1
    blocker = tmp_path / "pygls"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('pygls is not installed here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "server"], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    assert "pip install 'ppodoctor[server]'" in done.stderr and done.stdout == ""


def test_check_never_imports_the_server_and_the_server_never_imports_torch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(BROKEN)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ppodoctor", "check", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "libcst" in imported
    assert not {"pygls", "lsprotocol", "ppodoctor.server"} & imported
    probe = ("import sys\n"
             "from ppodoctor.server.app import build\n"
             "from ppodoctor.server.lint import lint\n"
             "from ppodoctor.server.options import ServerOptions, file_context\n"
             "from ppodoctor.server import actions\n"
             f"from pathlib import Path\npath = Path({str(script)!r})\ntext = path.read_text()\n"
             "linted = lint(path.as_uri(), 1, text, path, file_context(path, ServerOptions()), ServerOptions(),"
             " 'utf-16')\n"
             "actions.code_actions(linted, linted.findings[0].lsp.range, None, ServerOptions(), 'utf-16', False)\n"
             "print(len(linted.findings), sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1", "[]"], done.stderr


def test_a_save_publishes_the_static_findings_then_the_warm_probe_verdicts(tmp_path):
    """probeOnSave (off unless asked): each save publishes the static findings at once, then again
    with the verdicts of the real worker (trl 1.12 here), which the server started once, when the
    document was opened. A save while the probe runs gets the verdicts of the text it saved."""
    script = new_script(value=None)  # no value model: PPD101, which the probe reproduces
    # The value model is the policy (PPD109 in trl 1.12: the policy has no `score` head).
    changed = script.replace("reward_model=reward,", "reward_model=reward, value_model=policy,")
    uri = write(tmp_path, "saved.py", script)
    session = Session(root=tmp_path, initialization_options={"probeOnSave": True, "python": sys.executable})

    def probed_after(mark: int) -> list:
        session.wait(lambda: any(d.data["probe"] for p in session.published[uri][mark:] for d in p.diagnostics),
                     "the probe's verdicts after a save")
        return next(p for p in session.published[uri][mark:] if any(d.data["probe"] for d in p.diagnostics))

    try:
        opened = session.open(uri, script)
        assert codes(opened) == ["PPD101"] and opened[0].data["probe"] is None  # opening does not probe
        first = session.save(uri)
        session.change(uri, changed, 2)  # typed and saved again while the first probe runs
        second = session.save(uri)
        verdicts = probed_after(first)
        assert verdicts.version == 2 and [(d.code, d.data["probe"]) for d in verdicts.diagnostics] == \
            [("PPD109", "confirmed")], verdicts
        statics = session.published[uri][second:]
        assert [(d.code, d.data["probe"]) for d in statics[0].diagnostics] == [("PPD109", None)]  # first, at once
        # Back to the first text: its verdicts, from the worker already warm.
        session.change(uri, script, 3)
        mark = session.save(uri)
        verdicts = probed_after(mark)
        static = session.published[uri][mark].diagnostics  # the save's own check, published first
        assert [(d.code, d.data["probe"]) for d in static] == [("PPD101", None)]
        (ppd101,) = verdicts.diagnostics
        assert verdicts.version == 3 and ppd101.data["probe"] == "confirmed" and "[probe: confirmed" in ppd101.message
        assert "reproduced" in ppd101.data["probeDetail"]
        result = session.execute("ppodoctor.probe", uri)
        assert result["worker"]["warm"] and result["worker"]["started"] == 1, result
        assert result["worker"]["seconds"] < 5, result  # no imports paid: a warm worker
    finally:
        assert session.close_session() == 0

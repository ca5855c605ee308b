"""`fix --write` with the runtime probe: confirmed fixes are written, the others are not, and each says why.

The probe runs for real (this interpreter: trl 1.12 / transformers 5; the 0.12 interpreter where
found), on the fixture models; the era rules' fixes are checked against those interpreters' own APIs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths
from ppodoctor.probe import ProbeOptions
from ppodoctor.trl_api.eras import Target, Version
from ppodoctor.types import CONFIRMED, REFUTED, ProbeVerdict
from probe_helpers import MODELS, ROOT, guide_script_012, new_script, trl012_python

TRL_112 = Target(Version.parse("1.12.0"), "test", Version.parse("5.0.0"), "test")
TRL_020 = Target(Version.parse("0.20.0"), "test", Version.parse("4.46.3"), "test")
HERE = ProbeOptions(python=sys.executable)


def _needs_012() -> str:
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012, /tmp/venv012)")
    return python


def _fix(path: Path, target: Target = TRL_112, options: ProbeOptions = HERE, **kwargs):
    return fix_paths([path], Settings(), target, write=True, probe_options=options, **kwargs).files[0]


def _outcomes(result) -> dict:
    return {(o.diagnostic.code, o.diagnostic.span.column): o.text for o in result.outcomes}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


def test_only_the_confirmed_fix_is_written_byte_exact(tmp_path):
    # The tokenizer is a hub id that only --model-path maps to a directory: `check` cannot read its
    # files, so PPD301 is reported; the probe reads them, finds a pad token and refutes it. The missing
    # value model is confirmed and written.
    path = tmp_path / "train.py"
    path.write_text(new_script(value=None).replace(f'"{MODELS / "tok-pad"}"', '"acme/tokenizer"'))
    result = _cli("fix", "--write", str(path), "--trl-version", "1.12.0",
                  "--model-path", f"acme/tokenizer={MODELS / 'tok-pad'}")
    assert result.returncode == 1, result.stderr
    assert f"{path}:7:11: PPD101 fixed (confirmed)" in result.stderr
    assert (f"{path}:3:13: PPD301 not fixed: refuted: the finding does not reproduce: the tokenizer has pad "
            "token '[PAD]' as saved") in result.stderr
    assert "Fixed 1 problem in 1 file." in result.stderr
    expected = new_script(value=None).replace(f'"{MODELS / "tok-pad"}"', '"acme/tokenizer"').replace(
        "trainer = PPOTrainer(",
        f'value_model = AutoModelForSequenceClassification.from_pretrained(\n    "{MODELS / "llama-rm"}", '
        "num_labels=1\n)\ntrainer = PPOTrainer(").replace(
        "train_dataset=dataset)", "train_dataset=dataset, value_model=value_model)")
    assert path.read_text() == expected


def test_no_probe_still_writes_every_fix_and_asks_nothing(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(new_script(value=None))

    def never(*_args):
        raise AssertionError("--no-probe must not run the probe")

    result = fix_paths([path], Settings(), TRL_112, write=True, probe=False, confirm=never).files[0]
    assert result.written and result.verdicts == ()
    assert [(o.diagnostic.code, o.verdict, o.text) for o in result.outcomes] == [
        ("PPD101", None, "fixed (safe, not probed)")]
    assert "value_model=value_model" in path.read_text()


def test_a_refuted_rename_is_left_while_its_neighbours_are_written(tmp_path):
    # Three renames in one call: the match between the probe's verdicts and the re-run's findings is by key.
    path = tmp_path / "train.py"
    path.write_text(guide_script_012())

    def refute_policy(sets, options):
        return [{i: ProbeVerdict(REFUTED, "said no") if "`policy=`" in d.message else ProbeVerdict(CONFIRMED, "ok")
                 for i, d in enumerate(diagnostics)} for _before, _after, diagnostics in sets]

    result = _fix(path, confirm=refute_policy)
    assert result.written
    text = path.read_text()
    assert "PPOTrainer(args=config, processing_class=tokenizer, policy=model, ref_model=ref_model," in text
    assert "from trl.experimental.ppo import PPOConfig, PPOTrainer\n" in text
    assert [d.code for d in result.remaining] == ["PPD201"]
    assert _outcomes(result)[("PPD201", 69)] == "not fixed: refuted: said no"
    assert not any(s.diagnostic.code == "PPD201" for s in result.skipped)  # said once, as the outcome


def test_a_012_script_gets_its_renames_written_for_a_112_interpreter(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(guide_script_012())
    result = _fix(path)
    outcomes = _outcomes(result)
    assert result.written
    assert outcomes[("PPD201", 69)] == "fixed (confirmed)"
    assert outcomes[("PPD202", 17)] == "fixed (confirmed)"
    assert ("PPD301", 13) not in outcomes  # the saved tokenizer has a pad token: not even reported
    verdicts = {d.code + str(d.span.column): v.detail for d, v in zip(result.proposed, result.verdicts)}
    assert verdicts["PPD20169"] == ("reproduced `trl.experimental.ppo.PPOTrainer.__init__ (trl 1.12.0) rejects "
                                    "`policy=``; the fixed setup passes")
    assert "ImportError: cannot import name 'PPOConfig' from 'trl'" in verdicts["PPD20217"]
    expected = guide_script_012().replace(
        "from trl import PPOConfig, PPOTrainer, create_reference_model\n",
        "from trl import create_reference_model\nfrom trl.experimental.ppo import PPOConfig, PPOTrainer\n").replace(
        "config = PPOConfig(",
        f'value_model = AutoModelForSequenceClassification.from_pretrained(\n    "{MODELS / "llama-rm"}", '
        "num_labels=1\n)\nconfig = PPOConfig(").replace(
        "PPOTrainer(config=config, processing_class=tokenizer, policy=model, ref_policy=ref_model,",
        "PPOTrainer(args=config, processing_class=tokenizer, model=model, ref_model=ref_model,").replace(
        "train_dataset=dataset)", "train_dataset=dataset, value_model=value_model)")
    assert path.read_text() == expected


def test_the_012_interpreter_refutes_the_same_renames(tmp_path):
    python = _needs_012()
    path = tmp_path / "train.py"
    path.write_text(guide_script_012())
    result = _fix(path, options=ProbeOptions(python=python))
    outcomes = _outcomes(result)
    assert outcomes[("PPD201", 69)] == ("not fixed: refuted: the finding does not reproduce: "
                                        "trl.PPOTrainer.__init__ (trl 0.12.2) accepts `policy=`")
    assert outcomes[("PPD202", 17)] == ("not fixed: refuted: the finding does not reproduce: "
                                        "`from trl import PPOConfig` imports cleanly in trl 0.12.2")
    assert outcomes[("PPD101", 15)] == "fixed (confirmed)"  # 0.12 also walks a None value model
    text = path.read_text()
    assert "policy=model, ref_policy=ref_model" in text and "from trl import PPOConfig" in text
    assert "value_model=value_model" in text


def _era_script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.py"
    path.write_text(text)
    return path


CONFIG_RENAME = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\nconfig = PPOConfig(ppo_epochs=4)\n"
                 "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
                 "                     value_model=critic, train_dataset=ds)\n")
TORCH_DTYPE = ("import torch\nfrom transformers import AutoModelForCausalLM\nfrom trl.experimental.ppo import PPOTrainer\n"
               "policy = AutoModelForCausalLM.from_pretrained(\"sft\", torch_dtype=torch.bfloat16)\n"
               "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
               "                     value_model=critic, train_dataset=ds)\n")
# use_cpu: trl 1.12's PPOConfig() asks for bf16, which this CPU machine refuses (the fix would be refuted for
# that PPOConfig, a role it does not touch: tests/test_fix_all_roles.py).
POSITIONAL = ("from transformers import AutoModelForCausalLM, AutoTokenizer\nfrom trl import PPOConfig, PPOTrainer\n"
              "model = AutoModelForCausalLM.from_pretrained(\"sft\")\nref = AutoModelForCausalLM.from_pretrained(\"sft\")\n"
              "tokenizer = AutoTokenizer.from_pretrained(\"sft\")\n"
              "trainer = PPOTrainer(PPOConfig(use_cpu=True), model, ref, tokenizer)\n")


def test_config_field_rename_is_confirmed_by_ppoconfig_fields(tmp_path):
    path = _era_script(tmp_path, CONFIG_RENAME)
    result = _fix(path)
    assert [o.text for o in result.outcomes] == ["fixed (confirmed)"]
    assert result.verdicts[0].detail == (
        "reproduced `trl.experimental.ppo.PPOConfig (trl 1.12.0) has no field `ppo_epochs`: TypeError: "
        "PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'`; the fixed setup passes")
    assert path.read_text() == CONFIG_RENAME.replace("ppo_epochs=4", "num_ppo_epochs=4")


def test_torch_dtype_rename_follows_the_interpreters_transformers(tmp_path):
    path = _era_script(tmp_path, TORCH_DTYPE)
    result = _fix(path)
    assert [o.text for o in result.outcomes] == ["fixed (confirmed)"]
    assert path.read_text() == TORCH_DTYPE.replace("torch_dtype=", "dtype=")
    python = _needs_012()
    path.write_text(TORCH_DTYPE)
    result = _fix(path, options=ProbeOptions(python=python))
    assert [o.text for o in result.outcomes] == [
        "not fixed: refuted: the finding does not reproduce: transformers 4.46.3 takes `torch_dtype=`"]
    assert path.read_text() == TORCH_DTYPE


def test_positional_to_keyword_is_checked_against_the_trainer_signature(tmp_path):
    path = _era_script(tmp_path, POSITIONAL)
    result = _fix(path, TRL_020)
    by_code = {o.diagnostic.code: o.text for o in result.outcomes}
    assert by_code["PPD208"] == "fixed (confirmed)"
    assert "PPOTrainer(args=PPOConfig(use_cpu=True), model=model, ref_model=ref, processing_class=tokenizer)" in \
        path.read_text()
    python = _needs_012()
    path.write_text(POSITIONAL)
    result = _fix(path, TRL_020, ProbeOptions(python=python))
    by_code = {o.diagnostic.code: o.text for o in result.outcomes}
    assert by_code["PPD208"] == ("not fixed: refuted: the fix does not cure it: the keywords do not bind: "
                                 "TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'args'")
    assert "PPOTrainer(PPOConfig(use_cpu=True), model, ref, tokenizer)" in path.read_text()


def test_an_interpreter_without_trl_leaves_era_fixes_unchecked(tmp_path):
    bare = Path("/usr/bin/python3")
    if not bare.exists() or subprocess.run([str(bare), "-c", "import trl"], capture_output=True).returncode == 0:
        pytest.skip("needs an interpreter without trl")
    path = _era_script(tmp_path, CONFIG_RENAME)
    result = _fix(path, options=ProbeOptions(python=str(bare)))
    assert not result.written and path.read_text() == CONFIG_RENAME
    [outcome] = result.outcomes
    assert outcome.text.startswith("not fixed: unchecked: ") and "No module named" in outcome.text


def test_a_rule_the_probe_has_no_check_for_stays_unchecked():
    from ppodoctor.probe import FileFacts
    from ppodoctor.probe.setup_facts import SetupFacts
    from ppodoctor.pipeline.verdicts import fix_verdict
    from ppodoctor.types import Diagnostic, Fix
    from ppodoctor.setup.model import FileSetup
    from ppodoctor.types import Span

    finding = Diagnostic("PPD403", "overwritten-config-fields", "warning", "m", Span(1, 1, 1, 2),
                         fix=Fix("d"), setup_index=0)
    facts = FileFacts(FileSetup("x.py"), (SetupFacts.read({"models": {}, "checks": {}}),))
    verdict = fix_verdict(finding, facts, facts, ())
    assert (verdict.status, verdict.detail) == ("unchecked", "the probe has no runtime check for PPD403")


def test_a_finding_inside_code_a_held_back_fix_adds_is_not_counted_as_written(tmp_path):
    # The new value model copies the policy's `torch_dtype=`; PPD207 then renames it there too, in a
    # later round. With the value model held back, that second PPD207 has nothing left to fix: the
    # outcomes agree with what is written and with the count.
    path = tmp_path / "train.py"
    policy = f'from_pretrained("{MODELS / "llama-causal"}")'
    path.write_text(new_script(value=None).replace(policy, policy[:-1] + ', torch_dtype="auto")', 1))

    def hold_the_value_model(sets, options):
        return [{i: ProbeVerdict(REFUTED if d.code == "PPD101" else CONFIRMED, "said so")
                 for i, d in enumerate(diagnostics)} for _before, _after, diagnostics in sets]

    result = _fix(path, confirm=hold_the_value_model)
    texts = [(o.diagnostic.code, o.fixed, o.text) for o in result.outcomes]
    assert result.written and "value_model" not in path.read_text() and 'dtype="auto"' in path.read_text()
    assert [t for t in texts if t[0] == "PPD207"] == [
        ("PPD207", True, "fixed (confirmed)"),
        ("PPD207", False, "not fixed: confirmed, but it was in code that a fix held back would have added")], texts
    assert len([o for o in result.outcomes if o.fixed]) == len(result.applied) == 1


def test_a_partial_cure_is_written_and_the_closest_field_waits_for_the_user(tmp_path):
    # `ppo_epochs` has an exact equivalent; `init_kl_coef` only the closest (`kl_coef`, fixed instead of
    # adaptive). The rename is confirmed though PPOConfig still rejects the other field, and written; the
    # closest field is a change of meaning, written only with --unsafe-fixes.
    path = tmp_path / "train.py"
    path.write_text(new_script(config="PPOConfig(output_dir='out', use_cpu=True, ppo_epochs=2, init_kl_coef=0.1)"))
    result = _fix(path)
    outcomes = {o.diagnostic.message.split("`")[1]: o for o in result.outcomes}
    assert outcomes["ppo_epochs"].text == "fixed (confirmed)"
    assert not outcomes["init_kl_coef"].fixed and "a change of meaning to decide" in outcomes["init_kl_coef"].text
    assert "num_ppo_epochs=2, init_kl_coef=0.1" in path.read_text()
    again = _fix(path, unsafe=True)
    assert [o.text.split(":")[0] for o in again.outcomes] == ["fixed (unconfirmed, --unsafe-fixes)"]
    assert "num_ppo_epochs=2, kl_coef=0.1" in path.read_text()

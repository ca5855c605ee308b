"""The runtime probe against the real torch/transformers/TRL, on the meta device, with fixture configs.

All scripts are probed in one worker run per interpreter (a worker start costs a few seconds).
"""

from __future__ import annotations

import sys

import pytest

from ppodoctor.api import check_source, probe_report, CheckReport
from ppodoctor.probe import ProbeOptions, probe_files
from ppodoctor.pipeline.verdicts import annotate, runtime_findings
from ppodoctor.probe.device_plan import Distribution, device_plan
from ppodoctor.probe.memory import memory_plan
from ppodoctor.probe.probe_checks import Built, Check, Status
from ppodoctor.rules import all_rules
from ppodoctor.types import CONFIRMED, REFUTED, UNCHECKED
from probe_helpers import MODELS, guide_script_012, new_script, trl012_python

SCRIPTS = {
    "healthy": new_script(),
    "value_is_policy": new_script(value=None, value_expr="policy"),
    "value_is_reward": new_script(value=None, value_expr="reward"),
    "bert_reward": new_script(reward="bert-rm"),
    "small_vocab_reward": new_script(reward="llama-rm-small-vocab"),
    "pad_added_past_vocab": new_script(tokenizer="tok-nopad",
                                       tokenizer_lines='tokenizer.add_special_tokens({"pad_token": "[PAD]"})\n'),
    "no_pad": new_script(tokenizer="tok-nopad"),
    "pad_from_eos": new_script(tokenizer="tok-nopad", tokenizer_lines="if tokenizer.pad_token is None:\n"
                                                                      "    tokenizer.pad_token = tokenizer.eos_token\n"),
    "pad_by_helper": new_script(tokenizer="tok-nopad", tokenizer_lines="prepare_tokenizer(tokenizer)\n"),
    "pad_by_helper_saved": new_script(tokenizer="tok-pad", tokenizer_lines="prepare_tokenizer(tokenizer)\n"),
    "two_labels": new_script(reward="llama-rm-2labels", reward_kwargs="torch_dtype='float32'"),
    "default_config": new_script(config="PPOConfig(output_dir='out')"),
    "bf16_off": new_script(config="PPOConfig(output_dir='out', bf16=False)"),
    "reference_is_policy": new_script().replace("ref_model=ref_policy", "ref_model=policy"),
    "path_not_literal": new_script().replace(f'"{MODELS / "llama-rm"}", num_labels=1)\ntrainer',
                                             'args.reward_path, num_labels=1)\ntrainer'),
    "policy_automodel": "from transformers import AutoModel\n" + new_script().replace(
        "\npolicy = AutoModelForCausalLM", "\npolicy = AutoModel"),
    "reference_automodel": "from transformers import AutoModel\n" + new_script().replace(
        "ref_policy = AutoModelForCausalLM", "ref_policy = AutoModel"),
    "hub_id_not_cached": new_script(value=None, value_expr="value").replace(
        "trainer =", 'value = AutoModelForSequenceClassification.from_pretrained("nobody/not-cached-xyz")\ntrainer ='),
}


def _report(name: str, text: str):
    return check_source(text, f"{name}.py")


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    reports = {name: _report(name, text) for name, text in SCRIPTS.items()}
    results = probe_files([reports[name].setup for name in SCRIPTS], ProbeOptions(cwd=str(
        tmp_path_factory.mktemp("cwd"))))
    return {name: (reports[name], result) for name, result in zip(SCRIPTS, results)}


def _verdicts(probed, name):
    report, result = probed[name]
    assert result.ok, result.reason
    diagnostics = annotate(report.diagnostics, result)
    diagnostics += runtime_findings(report.setup, result, diagnostics, all_rules())
    return {d.code: d for d in diagnostics}, result.setup_facts(0)


def _reproduces(code: str, result) -> object:
    """What the rule's own probe check says of the first setup, as a finding of it would ask."""
    from ppodoctor.rules import find_rule
    from ppodoctor.types import Diagnostic
    from ppodoctor.types import Span

    finding = Diagnostic(code, "", "error", "", Span(1, 1, 1, 1), setup_index=0)
    return find_rule(code).reproduce(finding, result.facts)[0]


def test_healthy_setup_passes_every_trl_check(probed):
    found, facts = _verdicts(probed, "healthy")
    assert facts.raw["checks"]["trl_module"] == "trl.experimental.ppo.ppo_trainer"
    for name in ("signature", "same_object", "dropout", "generation_config", "reference_logits", "wrapper",
                 "reward_get_reward", "value_get_reward", "reward_not_trained"):
        assert facts.check(Check(name)).status is Status.PASS, (name, facts.check(Check(name)))
    assert not [code for code in found if code.startswith("PPD5")]
    plan = memory_plan(facts)
    assert [m.role for m in plan.models] == ["policy", "reference", "reward", "value"]
    assert [m.trained for m in plan.models] == [True, False, False, True]
    policy = plan.models[0]
    assert policy.total_bytes == 4 * policy.weight_bytes and plan.models[1].total_bytes == plan.models[1].weight_bytes
    assert plan.total_bytes == sum(m.total_bytes for m in plan.models) and not plan.missing


def test_a_policy_or_reference_without_an_lm_head_is_reproduced(probed):
    found, _ = _verdicts(probed, "policy_automodel")
    assert found["PPD110"].probe == CONFIRMED and "generation_config" in found["PPD110"].probe_detail
    found, facts = _verdicts(probed, "reference_automodel")
    assert found["PPD110"].probe == CONFIRMED and "'logits'" in found["PPD110"].probe_detail
    assert facts.check(Check.GENERATION_CONFIG).status is Status.PASS, "the policy there is a causal LM"


def test_value_model_that_is_the_policy_reproduces_trls_score_error(probed):
    found, _ = _verdicts(probed, "value_is_policy")
    assert "PPD103" not in found  # one problem, one finding: PPD109 names it
    assert "PPD105" not in found  # the policy's `lm_head` is no classifier head with a num_labels
    assert found["PPD109"].probe == CONFIRMED
    assert "'LlamaForCausalLM' object has no attribute 'score'" in found["PPD109"].probe_detail


def test_value_model_that_is_the_reward_model_puts_the_reward_in_the_optimizer(probed):
    found, facts = _verdicts(probed, "value_is_reward")
    assert facts.check(Check.REWARD_NOT_TRAINED).status is Status.FAIL
    assert found["PPD112"].probe == CONFIRMED and "12 of the reward model's 12 parameter tensors" in \
        found["PPD112"].probe_detail
    assert not {"PPD103", "PPD109"} & set(found)
    plan = {m.role: m for m in memory_plan(facts).models}
    assert plan["reward"].trained and plan["value"].shared_with == "reward" and plan["value"].total_bytes == 0
    assert plan["reward"].total_bytes == 4 * plan["reward"].weight_bytes, "the shared object gets grads and AdamW"
    # the per-device plan is the same plan: the reward object is trained in the PPO engine there too
    per_device = {r.role: r for r in device_plan(facts, Distribution(8)).roles}
    assert per_device["reward"].trained and per_device["reward"].on_device == plan["reward"].total_bytes
    assert per_device["value"].shared_with == "reward" and per_device["value"].on_device == 0
    _, policy_facts = _verdicts(probed, "value_is_policy")
    assert policy_facts.check(Check.REWARD_NOT_TRAINED).status is Status.PASS, "the reward there is its own object"


def test_encoder_reward_model_head_is_ppd501(probed):
    found, _ = _verdicts(probed, "bert_reward")
    assert found["PPD501"].probe == CONFIRMED
    assert "'BertForSequenceClassification' object has no attribute 'score'" in found["PPD501"].message
    healthy, _ = _verdicts(probed, "healthy")
    assert "PPD501" not in healthy


def test_vocabulary_mismatch_is_ppd502_but_a_masked_pad_token_is_allowed(probed):
    found, _ = _verdicts(probed, "small_vocab_reward")
    assert "embeds 40 token ids" in found["PPD502"].message
    allowed, facts = _verdicts(probed, "pad_added_past_vocab")
    assert facts.raw["tokenizer"]["pad_id"] == 64 and facts.model("reward").vocab == 64
    assert "PPD502" not in allowed


def test_pad_token_verdicts_follow_the_saved_tokenizer_and_the_scripts_edits(probed):
    found, _ = _verdicts(probed, "no_pad")
    assert found["PPD301"].probe == CONFIRMED and "Asking to pad" in found["PPD301"].probe_detail
    _, facts = _verdicts(probed, "pad_from_eos")
    assert facts.tokenizer.pad_token == "</s>" and facts.tokenizer.saved_pad_token is None
    helper, _ = _verdicts(probed, "pad_by_helper")
    assert helper["PPD503"].severity == "warning" and "prepare_tokenizer" in helper["PPD503"].message
    saved, _ = _verdicts(probed, "pad_by_helper_saved")
    assert "PPD503" not in saved and "PPD301" not in saved


def test_two_label_reward_head_is_seen_from_its_config(probed):
    found, facts = _verdicts(probed, "two_labels")
    assert facts.model("reward").head_width == 2
    assert found["PPD105"].probe == CONFIRMED if "PPD105" in found else True
    assert _reproduces("PPD105", probed["two_labels"][1]) is True
    assert _reproduces("PPD105", probed["healthy"][1]) is False


def test_bf16_default_without_a_bf16_gpu_is_ppd504(probed):
    found, facts = _verdicts(probed, "default_config")
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        assert "PPD504" not in found
        return
    assert found["PPD504"].probe == CONFIRMED and "bf16" in found["PPD504"].probe_detail
    for name in ("bf16_off", "healthy"):
        assert "PPD504" not in _verdicts(probed, name)[0]


def test_reference_that_is_the_policy_object(probed):
    found, facts = _verdicts(probed, "reference_is_policy")
    assert facts.check(Check.SAME_OBJECT).status is Status.FAIL
    assert found["PPD106"].probe == CONFIRMED


def test_unresolvable_models_are_unchecked_with_the_reason_never_passed(probed):
    _, facts = _verdicts(probed, "path_not_literal")
    assert facts.model("value").status is Built.UNCHECKED
    assert "`args.reward_path` is not a literal" in facts.model("value").reason
    assert facts.check(Check.WRAPPER).status is Status.UNCHECKED
    assert memory_plan(facts).missing
    _, facts = _verdicts(probed, "hub_id_not_cached")
    assert "not in the Hugging Face cache" in facts.model("value").reason


def test_a_worker_that_cannot_start_or_times_out_leaves_everything_unchecked(tmp_path):
    report = _report("value_is_policy", SCRIPTS["value_is_policy"])
    (result,) = probe_files([report.setup], ProbeOptions(python=str(tmp_path / "no-python")))
    assert not result.ok and "cannot start" in result.reason
    assert {d.probe for d in annotate(report.diagnostics, result)} == {UNCHECKED}
    (result,) = probe_files([report.setup], ProbeOptions(timeout_s=0.5))
    assert "did not finish within 0.5 s" in result.reason
    checked = probe_report(CheckReport((report,)), ProbeOptions(python=str(tmp_path / "no-python")))
    assert all(d.probe == UNCHECKED for d in checked.diagnostics)


def test_crash_in_the_worker_is_unchecked(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Segmentation fault' >&2\nkill -SEGV $$\n")
    fake.chmod(0o755)
    report = _report("healthy", SCRIPTS["healthy"])
    (result,) = probe_files([report.setup], ProbeOptions(python=str(fake)))
    assert not result.ok and "the probe worker died" in result.reason and "signal 11" in result.reason


def test_ctrl_c_during_the_probe_kills_its_worker_and_removes_its_temporary_files(tmp_path, monkeypatch):
    """The worker has a session of its own (a terminal's Ctrl-C does not reach it): an interrupted
    probe kills it, and the temporary directory it was given goes, whatever it left there."""
    import os
    import signal
    import tempfile
    import time

    from ppodoctor.probe.runner import ask_worker

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\ntouch "$TMPDIR/left.json"\necho $$ "$TMPDIR" > {tmp_path}/started\nexec sleep 60\n')
    fake.chmod(0o755)
    started = tmp_path / "started"

    def interrupt(*_):
        if not started.exists():  # not yet going: ask again soon
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            ask_worker({}, ProbeOptions(python=str(fake), timeout_s=30))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 10
    pid, directory = started.read_text().split()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)  # killed and reaped
    assert directory.startswith(str(scratch)) and list(scratch.iterdir()) == []


@pytest.fixture(scope="module")
def probed_012(tmp_path_factory):
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012, /tmp/venv012)")
    from ppodoctor.config import Settings

    settings = Settings(trl_version="0.12.2")
    reports = [check_source(guide_script_012(value=value), f"guide{value}.py", settings) for value in (False, True)]
    return python, reports, probe_files([r.setup for r in reports], ProbeOptions(python=python))


def test_guide_script_on_trl_012_reproduces_the_nonetype_modules_error(probed_012):
    _python, (broken, fixed), (result, fixed_result) = probed_012
    assert dict(result.versions)["trl"] == "0.12.2"
    found = {d.code: d for d in annotate(broken.diagnostics, result)}
    assert found["PPD101"].probe == CONFIRMED
    assert "'NoneType' object has no attribute 'modules'" in found["PPD101"].probe_detail
    assert "PPD101" not in {d.code for d in fixed.diagnostics}
    assert _reproduces("PPD101", fixed_result) is False


def test_a_policy_without_an_lm_head_on_trl_012_is_reproduced(probed_012):
    # transformers 4.46 gives such a model `generation_config = None`: TRL 0.12 reads its eos_token_id.
    from ppodoctor.config import Settings

    python = probed_012[0]
    script = "from transformers import AutoModel\n" + guide_script_012(value=True).replace(
        "model = AutoModelForCausalLM", "model = AutoModel")
    report = check_source(script, "automodel.py", Settings(trl_version="0.12.2"))
    (result,) = probe_files([report.setup], ProbeOptions(python=python))
    found = {d.code: d for d in annotate(report.diagnostics, result)}
    assert found["PPD110"].probe == CONFIRMED, found["PPD110"].probe_detail
    assert "'NoneType' object has no attribute 'eos_token_id'" in found["PPD110"].probe_detail


def test_confirm_fixes_confirms_a_cure_and_refutes_a_non_cure(probed_012):
    from ppodoctor.pipeline.verdicts import confirm_fixes

    python, (broken, fixed), _ = probed_012
    ppd101 = [d for d in broken.diagnostics if d.code == "PPD101"]
    verdicts = confirm_fixes(broken.setup, fixed.setup, ppd101, ProbeOptions(python=python))
    assert verdicts[0].status == CONFIRMED and "the fixed setup passes" in verdicts[0].detail
    verdicts = confirm_fixes(broken.setup, broken.setup, ppd101, ProbeOptions(python=python))
    assert verdicts[0].status == REFUTED and "does not cure" in verdicts[0].detail
    verdicts = confirm_fixes(fixed.setup, fixed.setup, ppd101, ProbeOptions(python=python))
    assert verdicts[0].status == REFUTED and "does not reproduce" in verdicts[0].detail


def test_confirm_fixes_accepts_settings_and_says_unchecked_when_the_probe_cannot_run(tmp_path):
    from ppodoctor.config import Settings
    from ppodoctor.pipeline.verdicts import confirm_fixes

    report = _report("value_is_policy", SCRIPTS["value_is_policy"])
    verdicts = confirm_fixes(report.setup, report.setup, report.diagnostics,
                             Settings(python=str(tmp_path / "missing")))
    assert set(verdicts) == set(range(len(report.diagnostics)))
    assert {v.status for v in verdicts.values()} == {UNCHECKED}


def test_importing_the_probe_package_does_not_import_torch():
    import subprocess

    code = "import sys, ppodoctor.probe, ppodoctor.pipeline.verdicts, ppodoctor.pipeline.probe_report; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"

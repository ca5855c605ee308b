""""Confirmed" means TRL's own steps ran for every role: a fix is judged on the fixed setup's policy,
reference, reward and value models and its PPOConfig, those the fix touched and those it did not.

Real probe runs in this interpreter (trl 1.12, the meta device) on the fixture models: a script with
two independent mistakes (no value model, and a value-head wrapper as the reference), fixed one at a
time and both at once.
"""

from __future__ import annotations

import sys

from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths
from ppodoctor.probe import ProbeOptions
from ppodoctor.probe.facts import CHECK_ROLES
from ppodoctor.probe.probe_checks import Check
from ppodoctor.trl_api.eras import Target, Version
from probe_helpers import MODELS, new_script

TRL_112 = Target(Version.parse("1.12.0"), "test", Version.parse("5.0.0"), "test")
HERE = ProbeOptions(python=sys.executable)
WRAPPED_REFERENCE = f'ref_policy = AutoModelForCausalLMWithValueHead.from_pretrained("{MODELS / "llama-causal"}")\n'
# No value model (PPD101) and the reference built as a value-head wrapper (PPD107): trl 1.12 dies on
# the missing argument first, and once that is fixed, on the reference's `.logits` in the first rollout.
TWO_MISTAKES = new_script(value=None).replace(
    f'ref_policy = AutoModelForCausalLM.from_pretrained("{MODELS / "llama-causal"}")\n', WRAPPED_REFERENCE).replace(
    "from trl.experimental.ppo import PPOConfig, PPOTrainer\n",
    "from trl.experimental.ppo import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer\n")


def _fix(path, select=()):
    return fix_paths([path], Settings(select=select) if select else Settings(), TRL_112, write=True,
                     probe_options=HERE).files[0]


def test_every_check_names_the_roles_it_runs():
    assert set(CHECK_ROLES) == set(Check)


def test_a_fix_that_leaves_another_role_broken_is_refuted_naming_it(tmp_path):
    assert WRAPPED_REFERENCE in TWO_MISTAKES
    path = tmp_path / "train.py"
    path.write_text(TWO_MISTAKES)
    result = _fix(path, select=("PPD101",))
    [outcome] = result.outcomes
    assert outcome.diagnostic.code == "PPD101" and not outcome.fixed
    assert outcome.verdict.status == "refuted" and outcome.verdict.reproduced
    # The value model's fix works; the reference, which it does not touch, still dies in TRL.
    assert outcome.text.startswith("not fixed: refuted: the fixed setup still fails: the reference model: "
                                   "TRL's reference_logits step still fails: "), outcome.text
    assert "logits" in outcome.text
    assert not result.written and path.read_text() == TWO_MISTAKES


def test_both_mistakes_fixed_together_are_confirmed(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(TWO_MISTAKES)
    result = _fix(path)
    assert {(o.diagnostic.code, o.text) for o in result.outcomes} == {
        ("PPD101", "fixed (confirmed)"), ("PPD107", "fixed (confirmed)")}, [o.text for o in result.outcomes]
    text = path.read_text()
    assert result.written and "value_model=value_model" in text
    assert "ref_policy = AutoModelForCausalLM.from_pretrained(" in text

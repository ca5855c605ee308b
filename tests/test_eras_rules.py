"""PPD201-PPD208 and the era boundaries: each case names the real TRL behaviour it encodes.

Behaviours were read from each release's ppo_trainer.py/ppo_config.py/__init__.py (pip download
--no-deps trl==X) and are recorded in ppodoctor/trl_api/table.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eras_helpers import check, codes, fix_all

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eras"
OLD_SCRIPT = (FIXTURES / "old_era_script.py").read_text()
V012_SCRIPT = (FIXTURES / "v012_script.py").read_text()
V013_SCRIPT = (FIXTURES / "v013_script.py").read_text()


# --- one script, every era ------------------------------------------------------------------------
@pytest.mark.parametrize("version, expected", [
    ("0.11.4", []),  # the old API: value-head wrapper, .step() loop: runs
    ("0.12.2", ["PPD206"]),  # 0.12 replaced PPOTrainer: a different class, one headline finding
    ("0.14.0", ["PPD206"]),
    ("0.20.0", ["PPD206"]),
    ("0.27.0", ["PPD206"]),  # no cascade of import/keyword/config findings
    ("1.12.0", ["PPD206"]),
    ("1.13.0", ["PPD203"]),  # no PPO at all: one finding for the file
])
def test_old_era_script_in_every_era(version, expected):
    assert codes(OLD_SCRIPT, version) == expected


@pytest.mark.parametrize("version, expected", [
    # 0.11's PPOTrainer(config, model, ref_model, tokenizer, dataset, ...) rejects every new keyword,
    # and its PPOConfig (a plain dataclass) has neither output_dir nor num_ppo_epochs: another class,
    # one headline finding (the pin), not a rename per keyword.
    ("0.11.4", {"PPD210"}),
    ("0.12.2", set()),  # written for 0.12: clean (transformers 4 beside it: no PPD207)
    ("0.14.0", {"PPD201"}),  # config=/policy=/ref_policy= are deprecate_kwarg warnings in 0.13-0.14
    ("0.20.0", {"PPD201"}),  # ... and a TypeError from 0.15
    ("0.27.0", {"PPD201", "PPD202"}),  # plus the FutureWarning of `from trl import PPOTrainer` (0.26-0.28)
    ("1.12.0", {"PPD201", "PPD202", "PPD207"}),  # ImportError from 0.29; transformers 5 renamed torch_dtype
    ("1.13.0", {"PPD203"}),
])
def test_v012_script_in_every_era(version, expected):
    assert set(codes(V012_SCRIPT, version)) == expected


@pytest.mark.parametrize("version, expected", [
    ("0.12.2", {"PPD201", "PPD202"}),  # args=/model=/ref_model= are TypeErrors on 0.12; no trl.experimental
    ("0.14.0", {"PPD202"}),  # trl.experimental.ppo appears only in 0.26
    ("0.20.0", {"PPD202"}),
    ("0.27.0", set()),
    ("1.12.0", set()),
    ("1.13.0", {"PPD203"}),
])
def test_v013_script_in_every_era(version, expected):
    assert set(codes(V013_SCRIPT, version)) == expected


def test_deprecated_keywords_are_warnings_on_013_014_and_errors_from_015():
    # trl 0.13/0.14: @deprecate_kwarg("config", "0.15.0", "args", ...) on PPOTrainer.__init__.
    for version, severity in (("0.13.0", "warning"), ("0.14.0", "warning"), ("0.15.2", "error"), ("0.17.0", "error")):
        found = [d for d in check(V012_SCRIPT, version, ("PPD201",))]
        assert {d.severity for d in found} == {severity}, version
        assert {d.message.split("`")[1] for d in found} == {"config=", "policy=", "ref_policy="}


def test_ppd201_fix_renames_for_the_target_era():
    fixed = fix_all(V012_SCRIPT, "0.20.0", "PPD201")
    assert "args=PPOConfig(" in fixed and "model=policy" in fixed and "ref_model=ref_policy" in fixed
    assert codes(fixed, "0.20.0") == []
    back = fix_all(V013_SCRIPT.replace("trl.experimental.ppo", "trl"), "0.12.2", "PPD201")
    assert "config=PPOConfig(" in back and "policy=policy" in back and "ref_policy=ref_policy" in back
    assert codes(back, "0.12.2") == []


def test_ppd201_keyword_without_equivalent_has_no_fix():
    # trl 0.12 has no peft_config parameter at all; args= is its config=.
    source = V013_SCRIPT.replace("trl.experimental.ppo", "trl").replace("train_dataset=dataset)",
                                                                       "train_dataset=dataset, peft_config=peft)")
    found = {d.message.split("`")[1]: d for d in check(source, "0.12.2", ("PPD201",))}
    assert found["peft_config="].fix is None
    assert found["args="].fix is not None


# --- PPD202 --------------------------------------------------------------------------------------------
def test_ppd202_boundaries():
    old, new = "from trl import PPOConfig, PPOTrainer\n", "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
    assert codes(old, "0.25.1") == []  # last release before the move
    assert {d.severity for d in check(old, "0.26.2", ("PPD202",))} == {"warning"}  # FutureWarning shim
    assert {d.severity for d in check(old, "0.28.0", ("PPD202",))} == {"warning"}
    assert {d.severity for d in check(old, "0.29.1", ("PPD202",))} == {"error"}  # gone from trl/__init__.py
    assert codes(new, "0.25.1") == ["PPD202", "PPD202"]  # no trl.experimental.ppo before 0.26
    assert codes(new, "0.26.2") == []


def test_ppd202_value_head_moved():
    source = "from trl import AutoModelForCausalLMWithValueHead\n"
    assert codes(source, "0.26.2") == []  # still trl.models' own class
    assert [d.severity for d in check(source, "0.27.0")] == ["warning"]  # a warning shim from 0.27
    assert [d.severity for d in check(source, "0.29.1")] == ["error"]
    assert fix_all(source, "0.29.1", "PPD202") == "from trl.experimental.ppo import AutoModelForCausalLMWithValueHead\n"


def test_ppd202_fix_splits_statements_and_keeps_other_names():
    source = "if True:\n    from trl import PPOTrainer as T, SFTTrainer, create_reference_model\n"
    fixed = fix_all(source, "1.12.0", "PPD202")
    assert fixed == ("if True:\n    from trl import SFTTrainer, create_reference_model\n"
                     "    from trl.experimental.ppo import PPOTrainer as T\n")
    compile(fixed, "fixed.py", "exec")


def test_ppd202_ppov2_renamed_then_gone():
    source = "from trl import PPOv2Trainer\n"
    assert codes(source, "0.11.4") == []
    assert codes(source, "0.12.2") == []  # a deprecated alias of PPOTrainer in 0.12 only
    assert fix_all(source, "0.13.0", "PPD202") == "from trl import PPOTrainer as PPOv2Trainer\n"


def test_ppd202_trl_core_and_respond_to_batch():
    assert codes("from trl.core import respond_to_batch\n", "0.13.0") == []
    gone = check("from trl.core import respond_to_batch\n", "0.14.0")  # removed from core.py in 0.14
    assert [d.code for d in gone] == ["PPD202"] and gone[0].fix is None
    assert codes("import trl.core\n", "0.24.0") == []
    # trl/core.py is absent from the 0.25.1 wheel (the facts file says 0.29; the wheels say 0.25).
    assert codes("import trl.core\n", "0.25.1") == ["PPD202"]


# --- PPD203 --------------------------------------------------------------------------------------------
def test_ppd203_one_finding_per_file_at_the_first_ppo_import():
    found = check(V013_SCRIPT, "1.13.0")
    assert [d.code for d in found] == ["PPD203"]
    assert found[0].span.line == 3 and "trl==1.12.0" in found[0].message
    assert codes(V013_SCRIPT, "1.12.0") == []


# --- PPD204 / PPD206 -------------------------------------------------------------------------------------
def test_ppd204_half_ported_loop():
    source = V013_SCRIPT.replace("trainer.train()\n", "for batch in trainer.dataloader:\n"
                                 "    trainer.step(q, r, s)\n    trainer.log_stats(s, batch, r)\n")
    found = check(source, "1.12.0", ("PPD204",))
    assert [d.message.split("`")[1] for d in found] == [".dataloader", ".step()", ".log_stats()"]
    assert all(d.fix is None for d in found)
    assert codes(source, "0.11.4", ("PPD204",)) == []


def test_ppd206_silences_the_cascade_but_not_a_plain_old_call():
    # Without a wrapper or loop the old call is just positional arguments in the wrong slots: PPD208.
    source = ("from transformers import AutoModelForCausalLM, AutoTokenizer\nfrom trl import PPOConfig, PPOTrainer\n"
              "m = AutoModelForCausalLM.from_pretrained('a')\nr = AutoModelForCausalLM.from_pretrained('a')\n"
              "t = AutoTokenizer.from_pretrained('a')\ntrainer = PPOTrainer(PPOConfig(), m, r, t)\n")
    assert "PPD206" not in codes(source, "0.20.0")
    assert "PPD208" in codes(source, "0.20.0")


# --- PPD205 --------------------------------------------------------------------------------------------
def test_ppd205_renames_and_flags():
    source = V013_SCRIPT.replace('PPOConfig(output_dir="out")',
                                 'PPOConfig(output_dir="out", ppo_epochs=4, init_kl_coef=0.1, log_with="wandb", '
                                 'adap_kl_ctrl=False)')
    found = {d.subject: d for d in check(source, "1.12.0", ("PPD205",))}
    assert set(found) == {"ppo_epochs", "init_kl_coef", "log_with", "adap_kl_ctrl"}
    # With adap_kl_ctrl=False the old KL coefficient was fixed: kl_coef means the same; the flag goes.
    assert found["init_kl_coef"].fix.applicability == "safe"
    assert found["adap_kl_ctrl"].fix.title.startswith("Remove `adap_kl_ctrl=`")
    fixed = fix_all(source, "1.12.0", "PPD205")
    assert 'PPOConfig(output_dir="out", num_ppo_epochs=4, kl_coef=0.1, report_to="wandb")' in fixed
    assert codes(fixed, "1.12.0", ("PPD205",)) == []


def test_ppd205_adaptive_kl_is_the_users_decision():
    source = V013_SCRIPT.replace('PPOConfig(output_dir="out")', 'PPOConfig(output_dir="out", init_kl_coef=0.1, '
                                 'log_with=None, kl_penalty="abs")')
    found = {d.subject: d for d in check(source, "1.12.0", ("PPD205",))}
    # Still the user's decision: the closest field comes as an unsafe fix that says what changes.
    closest = found["init_kl_coef"].fix
    assert closest.applicability == "unsafe" and "adapted" in found["init_kl_coef"].message
    assert closest.title.startswith("Rename `init_kl_coef=` to `kl_coef=`, the closest field")
    assert found["kl_penalty"].fix is None  # only "kl" has an equivalent estimator
    assert found["log_with"].fix.title == "Rename `log_with=` to `report_to=` with `'none'`"
    fixed = fix_all(source, "1.12.0", "PPD205")
    assert 'report_to=\'none\'' in fixed and "kl_coef=0.1" in fixed and "init_kl_coef" not in fixed  # unsafe too


def test_ppd205_exp_name_exists_until_0_28():
    # exp_name is a PPOConfig field in 0.12-0.28's config and gone from the 0.29 config.
    source = V013_SCRIPT.replace('PPOConfig(output_dir="out")', 'PPOConfig(exp_name="x")')
    assert codes(source, "0.27.0", ("PPD205",)) == []
    assert codes(source, "0.29.1", ("PPD205",)) == ["PPD205"]


# --- PPD207 / PPD208 ---------------------------------------------------------------------------------------
def test_ppd207_follows_transformers_not_trl():
    from ppodoctor import api
    from ppodoctor.trl_api.eras import Target

    source = V013_SCRIPT.replace('AutoModelForCausalLM.from_pretrained("sft")',
                                 'AutoModelForCausalLM.from_pretrained("sft", torch_dtype="auto")', 1)
    four = api.check_source(source, "s.py", target=Target.of("1.12.0", transformers="4.57.0", transformers_source="x"))
    five = api.check_source(source, "s.py", target=Target.of("0.29.1", transformers="5.24.0", transformers_source="x"))
    assert "PPD207" not in [d.code for d in four.diagnostics]
    assert [d.code for d in five.diagnostics] == ["PPD207"]
    assert 'from_pretrained("sft", dtype="auto")' in fix_all(source, "1.12.0", "PPD207")


def test_ppd208_tokenizer_in_the_reference_slot():
    # Old order (config, model, ref_model, ...): the tokenizer passed third sits in ref_model's slot;
    # the new order (args, processing_class, model, ...) puts the policy where the tokenizer belongs.
    source = ("from transformers import AutoModelForCausalLM, AutoTokenizer\nfrom trl import PPOTrainer\n"
              "policy = AutoModelForCausalLM.from_pretrained('a')\n"
              "tok = AutoTokenizer.from_pretrained('a')\ntrainer = PPOTrainer(cfg, policy, tok)\n")
    found = check(source, "0.20.0", ("PPD208",))
    assert len(found) == 1 and "`policy` (a causal LM, meant as the policy) lands in `processing_class`" in found[0].message
    fixed = fix_all(source, "0.20.0", "PPD208")
    assert "PPOTrainer(args=cfg, model=policy, processing_class=tok)" in fixed


def test_ppd208_silent_on_the_targets_own_order_with_an_unresolved_argument():
    # The 0.11 order (config, model, ref_model, tokenizer) on 0.11, with `ref_model` assigned in two
    # branches: its meaning is unknown, so no other era's order may be used to guess it.
    source = ("from transformers import AutoTokenizer\n"
              "from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer, create_reference_model\n"
              "config = PPOConfig(model_name='gpt2', batch_size=16, mini_batch_size=16)\n"
              "model = AutoModelForCausalLMWithValueHead.from_pretrained(config.model_name)\n"
              "if use_peft:\n    ref_model = None\nelse:\n    ref_model = create_reference_model(model)\n"
              "tokenizer = AutoTokenizer.from_pretrained(config.model_name)\n"
              "ppo_trainer = PPOTrainer(config, model, ref_model, tokenizer, dataset=dataset)\n")
    assert not check(source, "0.11.4", ("PPD208",))
    swapped = source.replace("PPOTrainer(config, model, ref_model, tokenizer", "PPOTrainer(config, model, tokenizer")
    assert [d.code for d in check(swapped, "0.11.4", ("PPD208",))] == ["PPD208"]

"""A trainer call inside an `if` on the TRL version runs only where its branch is taken: the rules
judge the branch that runs on the target and stay silent on the other (it never runs there)."""

from __future__ import annotations

from ppodoctor.api import check_source
from ppodoctor.trl_api.eras import Target

SCRIPT = '''\
import trl
from packaging import version
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("sft")
if version.parse(trl.__version__) >= version.parse("0.12"):
    policy = AutoModelForCausalLM.from_pretrained("sft")
    trainer = PPOTrainer(
        config=PPOConfig(output_dir="out"),
        processing_class=tokenizer,
        policy=policy,
        ref_policy=None,
        reward_model=AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1),
        train_dataset=dataset,
    )
else:
    model = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
    trainer = PPOTrainer(PPOConfig(batch_size=8, mini_batch_size=8), model, None, tokenizer, dataset=dataset)
'''
NEW_BRANCH = range(8, 17)
OLD_BRANCH = range(18, 20)


def lines(version: str) -> dict[int, list[str]]:
    report = check_source(SCRIPT, "train.py", target=Target.of(version))
    assert report.error is None, report.error
    found: dict[int, list[str]] = {}
    for diagnostic in report.diagnostics:
        found.setdefault(diagnostic.span.line, []).append(diagnostic.code)
    return found


def test_the_branch_taken_on_the_target_is_judged():
    # trl 0.12.2 takes the first branch: its missing value_model is the real crash there.
    on_012 = lines("0.12.2")
    assert any("PPD101" in codes for line, codes in on_012.items() if line in NEW_BRANCH), on_012


def test_the_branch_not_taken_is_not_judged():
    # On 0.12.2 the value-head call never runs: no PPD206/PPD208/PPD107 on it.
    on_012 = lines("0.12.2")
    assert not [codes for line, codes in on_012.items() if line in OLD_BRANCH], on_012
    # On 0.11.4 the new call never runs: no PPD101/PPD210/PPD201 on it; the old call is right there.
    on_011 = lines("0.11.4")
    assert not [codes for line, codes in on_011.items() if line in NEW_BRANCH], on_011
    assert not [codes for line, codes in on_011.items() if line in OLD_BRANCH], on_011


def test_an_if_on_something_else_keeps_both_calls_judged():
    source = SCRIPT.replace('if version.parse(trl.__version__) >= version.parse("0.12"):', "if use_new_api:")
    report = check_source(source, "train.py", target=Target.of("0.12.2"))
    codes_by_line = {d.span.line for d in report.diagnostics}
    assert codes_by_line & set(OLD_BRANCH), [d.code for d in report.diagnostics]


def test_a_config_in_the_branch_not_taken_is_not_judged():
    # The config rules walk every PPOConfig call of the file; the one in the new-API branch never
    # runs on 0.11.4, so its 0.12 fields are no unknown keywords there.
    source = SCRIPT.replace('config=PPOConfig(output_dir="out")', 'config=PPOConfig(output_dir="out", entropy_coef=1)')
    report = check_source(source, "train.py", target=Target.of("0.11.4"))
    assert not [d.code for d in report.diagnostics if d.span.line in NEW_BRANCH]
    on_012 = check_source(source, "train.py", target=Target.of("0.12.2"))
    assert "PPD211" in [d.code for d in on_012.diagnostics if d.span.line in NEW_BRANCH]

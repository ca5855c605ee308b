"""A scan collects garbage between files, not inside a check (scan.py `_between_files`)."""

from __future__ import annotations

import gc

import pytest

from ppodoctor import api, core
from ppodoctor.config import Settings
from ppodoctor.setup import recent

SCRIPT = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("sft")
policy = AutoModelForCausalLM.from_pretrained("sft")
reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = PPOTrainer(
    args=PPOConfig(output_dir="{out}"),
    processing_class=tokenizer,
    model=policy,
    ref_model=None,
    reward_model=reward_model,
    train_dataset=dataset,
)
'''


@pytest.fixture
def scripts(tmp_path):
    recent.forget()
    for number in range(3):
        (tmp_path / f"train_{number}.py").write_text(SCRIPT.format(out=f"out{number}"))
    yield tmp_path
    recent.forget()


def test_the_collector_is_off_inside_each_check_and_on_after_the_scan(scripts, monkeypatch):
    seen = []
    check_screened = core.check_screened

    def observed(*args, **kwargs):
        seen.append(gc.isenabled())
        return check_screened(*args, **kwargs)

    monkeypatch.setattr(core, "check_screened", observed)
    report = api.check_paths([scripts], Settings(), jobs=1)
    assert seen == [False, False, False]
    assert gc.isenabled()
    assert all(file.diagnostics for file in report.files)  # each one was really checked (no value model)


def test_a_collector_turned_off_by_the_caller_stays_off(scripts):
    gc.disable()
    try:
        api.check_paths([scripts], Settings(), jobs=1)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_scan_keeps_only_its_last_tree_for_the_previews(scripts):
    report = api.check_paths([scripts], Settings(), jobs=1)
    assert len(report.files) == 3
    # The earlier trees were let go before the next file (promoted with their cycles they would cost
    # the older generations' collections); the last one stays for a preview.
    assert len(recent._RECENT) == 1
    kept = recent._RECENT[0][0]
    assert any(kept is recent.recall(path.read_text()) for path in scripts.iterdir())

"""PPD404's fix (issue 21: a fix for every mechanical cure): a raw-text training dataset is tokenized with
the trainer's own tokenizer, keeping only `input_ids`; a text column left beside `input_ids` is dropped.
The probe rebuilds the dataset from the source and runs TRL's own collator on its first rows, so `fix
--write` writes the fix once that reproduces the error and the fixed dataset batches; the scripts, broken
first with trl 1.12's real errors, then train to the end."""

from __future__ import annotations

import sys

import pytest

from e2e_matrix import CONFIG, make_models, run_scripts
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths, fix_source
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import Verdict

TARGET = Target.of("1.12.0", transformers="5.24.0")
ONLY = Settings(select=("PPD404",))
HEAD = ("from datasets import Dataset, load_dataset\n"
        "from transformers import AutoTokenizer\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
        'tokenizer = AutoTokenizer.from_pretrained("m/policy", padding_side="left")\n')
CALL = ("trainer = PPOTrainer(args=cfg, processing_class={tok}, model=policy, ref_model=ref, reward_model=rm, "
        "value_model=critic, train_dataset={data})\n")


def fixed(body: str, tok: str = "tokenizer", data: str = "dataset"):
    return fix_source(HEAD + body + CALL.format(tok=tok, data=data), "train.py", ONLY, TARGET)


def test_raw_text_is_tokenized_right_after_the_dataset_is_bound():
    result = fixed('dataset = Dataset.from_dict({"prompt": ["Hello there", "Tell me a story"]})\n')
    assert [d.code for d in result.applied] == ["PPD404"] and not result.remaining
    assert 'dataset = Dataset.from_dict({"prompt": ["Hello there", "Tell me a story"]})\n' \
           'dataset = dataset.map(lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]}, ' \
           'remove_columns=["prompt"])\ntrainer = ' in result.text


def test_a_dataset_written_in_the_call_is_tokenized_where_it_is_written():
    result = fixed("", data='Dataset.from_list([{"text": "a b", "id": 1}, {"text": "c", "id": 2}])')
    assert 'train_dataset=Dataset.from_list([{"text": "a b", "id": 1}, {"text": "c", "id": 2}]).map(lambda row: ' \
           '{"input_ids": tokenizer(row["text"])["input_ids"]}, remove_columns=["text", "id"]))' in result.text


def test_a_tokenizer_bound_after_the_dataset_is_read_at_the_call():
    # `tok` is bound after the dataset: a statement after the dataset could not call it.
    result = fixed('dataset = Dataset.from_dict({"prompt": ["Hi", "Yo"]})\ntok = tokenizer\n', tok="tok")
    assert 'train_dataset=dataset.map(lambda row: {"input_ids": tok(row["prompt"])["input_ids"]}, ' \
           'remove_columns=["prompt"]))' in result.text


def test_a_text_column_beside_input_ids_is_dropped():
    result = fixed('dataset = Dataset.from_dict({"prompt": ["Hi", "Yo"]})\n'
                   'dataset = dataset.map(lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]})\n')
    assert 'dataset = dataset.select_columns(["input_ids"])\ntrainer = ' in result.text and not result.remaining


@pytest.mark.parametrize("body, data, why", [
    ('dataset = load_dataset("trl-lib/tldr", split="train")\n', "dataset", "hub dataset's columns"),
    ('dataset = Dataset.from_dict({"question": ["a"], "context": ["b"]})\n', "dataset", "several text columns"),
])
def test_no_fix_where_the_column_is_a_choice(body, data, why):
    result = fixed(body, data=data)
    assert [d.code for d in result.remaining] == ["PPD404"] and result.applied == ()
    assert result.remaining[0].fix is None
    from ppodoctor.rules.ppd404_dataset_columns import _why_not
    from ppodoctor.rules.dataset_shape import columns

    assert why in _why_not(columns(result.before.setups[0].origin("train_dataset")), result.before.setups[0])


def test_no_fix_without_a_tokenizer_the_fix_can_call():
    result = fixed('dataset = Dataset.from_dict({"prompt": ["Hi", "Yo"]})\n',
                   tok='AutoTokenizer.from_pretrained("m/policy")')
    assert [d.code for d in result.remaining] == ["PPD404"] and result.remaining[0].fix is None


def test_a_tokenized_dataset_is_left_alone():
    result = fixed('dataset = Dataset.from_dict({"prompt": ["Hi", "Yo"]})\n'
                   'dataset = dataset.map(lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]}, '
                   'remove_columns=["prompt"])\n')
    assert result.applied == () and result.remaining == ()


def script(models, dataset: str) -> str:
    return ("from datasets import Dataset\n"
            "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
            "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
            f'tokenizer = AutoTokenizer.from_pretrained("{models}/policy", padding_side="left")\n'
            f"{dataset}"
            f'policy = AutoModelForCausalLM.from_pretrained("{models}/policy")\n'
            f'ref = AutoModelForCausalLM.from_pretrained("{models}/policy")\n'
            f'reward = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
            f'critic = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
            f"trainer = PPOTrainer(args=PPOConfig({CONFIG.format(out=repr('out'), epochs='num_ppo_epochs=1')}), "
            "processing_class=tokenizer, model=policy, ref_model=ref, reward_model=reward, value_model=critic, "
            "train_dataset=prompts)\n"
            "trainer.train()\n")


RAW = 'prompts = Dataset.from_dict({"prompt": ["Hello there", "Tell me a story", "Once upon a time", "The end"]})\n'
EXTRA = RAW + 'prompts = prompts.map(lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]})\n'


def test_broken_then_fixed_with_the_probe_then_trains(tmp_path):
    make_models(sys.executable, tmp_path / "models")
    paths = {}
    for name, dataset in (("raw", RAW), ("extra", EXTRA)):
        paths[name] = tmp_path / name / "train.py"
        paths[name].parent.mkdir()
        paths[name].write_text(script(tmp_path / "models", dataset))
    broken = run_scripts(sys.executable, list(paths.values()))
    assert "that includes input_ids, but you provided ['prompt']" in broken[str(paths["raw"])]["stderr"]
    assert "Unable to create tensor" in broken[str(paths["extra"])]["stderr"]
    report = fix_paths(list(paths.values()), Settings(), TARGET, write=True)  # the probe on
    for result in report.files:
        assert result.written and [d.code for d in result.applied] == ["PPD404"], result.not_written
        assert [v.status for v in result.verdicts] == [Verdict.CONFIRMED], result.verdicts
    assert ".map(lambda row: {\"input_ids\": tokenizer(row[\"prompt\"])[\"input_ids\"]}, remove_columns=[\"prompt\"])" \
        in paths["raw"].read_text()
    assert 'prompts = prompts.select_columns(["input_ids"])' in paths["extra"].read_text()
    trained = run_scripts(sys.executable, list(paths.values()))
    for path in paths.values():
        assert trained[str(path)]["returncode"] == 0, trained[str(path)]["stderr"][-2000:]

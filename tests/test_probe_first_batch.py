"""The probe's first_batch check (probe/worker_dataset.py), run in this interpreter on real parts: the setup
model of a script, the real `datasets` library, the saved fixture tokenizer and TRL's collator
(`DataCollatorWithPadding`). It must reproduce TRL's two dataset errors, pass a tokenized dataset, and
say why wherever the source does not show the dataset whole."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ppodoctor.core import parse_setup
from ppodoctor.setup.model import to_json_dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "ppodoctor" / "probe"))  # the worker's modules import each other as siblings
import worker_dataset  # noqa: E402
from probe_checks import Built, Status  # noqa: E402

HEAD = ("from datasets import Dataset, load_dataset\n"
        "from transformers import AutoTokenizer\n"
        "from trl.experimental.ppo import PPOTrainer\n"
        'tokenizer = AutoTokenizer.from_pretrained("tok")\n')
CALL = ("trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm, "
        "value_model=critic, train_dataset=dataset{extra})\n")
RAW = 'dataset = Dataset.from_dict({"prompt": ["Hello there", "Tell me a story"]})\n'
TOKENIZE = 'lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]}'


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ROOT / "fixtures" / "models" / "tok-pad")


def first_batch(tokenizer, body: str, extra: str = "") -> dict:
    setup = to_json_dict(parse_setup(HEAD + body + CALL.format(extra=extra), "train.py").setups[0])
    return worker_dataset.first_batch_check(setup, tokenizer, {"status": Built.BUILT})


def test_raw_text_fails_as_trl_does(tokenizer):
    result = first_batch(tokenizer, RAW)
    assert result["status"] == Status.FAIL and "that includes input_ids, but you provided ['prompt']" in result["error"]


def test_a_text_column_beside_input_ids_fails_as_trl_does(tokenizer):
    result = first_batch(tokenizer, RAW + f"dataset = dataset.map({TOKENIZE})\n")
    assert result["status"] == Status.FAIL and "Unable to create tensor" in result["error"]


@pytest.mark.parametrize("step", [f"dataset = dataset.map({TOKENIZE}, remove_columns=[\"prompt\"])\n",
                                  f"dataset = dataset.map({TOKENIZE}).select_columns([\"input_ids\"])\n",
                                  f"dataset = dataset.map({TOKENIZE}, batched=True, num_proc=4).remove_columns("
                                  "\"prompt\")\n"])
def test_a_tokenized_dataset_batches(tokenizer, step):
    result = first_batch(tokenizer, RAW + step)
    assert result["status"] == Status.PASS and result["columns"] == ["input_ids"]


@pytest.mark.parametrize("body, extra, why", [
    (RAW + "def tok(row):\n    return {'input_ids': tokenizer(row['prompt'])['input_ids']}\n"
     "dataset = dataset.map(tok)\n", "", "is not a lambda written in the call"),
    (RAW + "other = tokenizer\ndataset = dataset.map(lambda row: {'input_ids': other(row['prompt'])['input_ids']})\n",
     "", "reads other"),
    ('dataset = load_dataset("trl-lib/tldr", split="train")\n', "", "is not built from literal rows"),
    (RAW + "prepare(dataset)\n", "", "may be changed in place (by `prepare`)"),
    (RAW, ", data_collator=collate", "its own data collator"),
])
def test_what_the_source_does_not_show_is_unchecked_with_the_reason(tokenizer, body, extra, why):
    result = first_batch(tokenizer, body, extra)
    assert result["status"] == Status.UNCHECKED and why in result["reason"], result


def test_no_tokenizer_no_check():
    setup = to_json_dict(parse_setup(HEAD + RAW + CALL.format(extra=""), "train.py").setups[0])
    result = worker_dataset.first_batch_check(setup, None, {"status": Built.UNCHECKED, "reason": "not in the cache"})
    assert result["status"] == Status.UNCHECKED and "not in the cache" in result["reason"]

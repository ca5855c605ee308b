"""Values through data the script itself writes: a config dict dumped to JSON/YAML and read back into
`PPOConfig(**loaded)`, and keyword dicts built with `dict(...)`, `.update(...)` and item assignment.
The findings are the ones the same values get when written inline, and their fixes edit the value
where the script writes it (the dict's key, the mapping's entry)."""

from __future__ import annotations

import textwrap

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target, Version

TARGET = Target(Version.parse("1.12.0"), "--trl-version")

HEAD = """\
import json
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
CALL = ("trainer = PPOTrainer(args=PPOConfig(**loaded), processing_class=tok, model=policy, ref_model=ref,\n"
        "                     reward_model=rm, value_model=critic, train_dataset=None)\n")


def script(config_part: str, call: str = CALL) -> str:
    return HEAD + textwrap.dedent(config_part) + call


def codes(text: str) -> list[str]:
    return sorted(d.code for d in check_source(text, "train.py", Settings(), TARGET).diagnostics)


ROUND_TRIP = """\
config = {"output_dir": "out", "ppo_epochs": 2}
with open("ppo.json", "w") as f:
    json.dump(config, f)
with open("ppo.json") as f:
    loaded = json.load(f)
"""


def test_a_config_written_to_json_and_read_back_is_the_config_written():
    assert codes(script(ROUND_TRIP)) == ["PPD205"]


def test_the_fix_renames_the_key_where_the_script_writes_it():
    fixed = fix_source(script(ROUND_TRIP), "train.py", Settings(), TARGET)
    assert '{"output_dir": "out", "num_ppo_epochs": 2}' in fixed.text
    assert fixed.text.count("ppo_epochs") == 1 and codes(fixed.text) == []


def test_a_yaml_round_trip_and_dict_keywords_are_read_the_same_way():
    text = script("""\
        import yaml
        config = dict(output_dir="out", ppo_epochs=2)
        with open("ppo.yaml", "w") as f:
            yaml.safe_dump(config, f)
        loaded = yaml.safe_load(open("ppo.yaml"))
        """)
    assert codes(text) == ["PPD205"]
    fixed = fix_source(text, "train.py", Settings(), TARGET)
    assert 'dict(output_dir="out", num_ppo_epochs=2)' in fixed.text


def test_a_correct_config_through_json_gets_no_finding():
    assert codes(script(ROUND_TRIP.replace('"ppo_epochs"', '"num_ppo_epochs"'))) == []


def test_a_file_the_script_did_not_write_stays_unknown():
    # Read from a file written elsewhere (or twice, or at a computed path): what it holds cannot be seen.
    elsewhere = """\
        with open("ppo.json") as f:
            loaded = json.load(f)
        """
    twice = ROUND_TRIP + 'json.dump({"output_dir": "x"}, open("ppo.json", "w"))\n'
    computed = ROUND_TRIP.replace('open("ppo.json", "w")', 'open(path, "w")')
    read_first = """\
        with open("ppo.json") as f:
            loaded = json.load(f)
        json.dump({"output_dir": "out", "ppo_epochs": 2}, open("ppo.json", "w"))
        """
    other_file = ROUND_TRIP.replace('open("ppo.json") as f', 'open("other.json") as f')
    for part in (elsewhere, twice, computed, read_first, other_file):
        assert codes(script(part)) == [], part


def test_a_value_model_set_in_a_keyword_dict_is_replaced_where_it_is_set():
    text = HEAD + textwrap.dedent("""\
        kwargs = dict(processing_class=tok)
        kwargs.update(model=policy, ref_model=ref)
        kwargs["reward_model"] = rm
        kwargs["value_model"] = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=PPOConfig(output_dir="out"), train_dataset=None, **kwargs)
        """)
    assert codes(text) == ["PPD103"]
    fixed = fix_source(text, "train.py", Settings(), TARGET)
    assert 'kwargs["value_model"] = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)' \
        in fixed.text
    assert codes(fixed.text) == []

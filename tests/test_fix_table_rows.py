"""Fixes where a loop copies a table into what the trainer gets.

Models a loop builds from a table: the one `cls.from_pretrained(path, **options)` in the loop serves
every role, so the class fix edits the row's elements (the class where the row writes it, `num_labels`
into the row's options) when they serve that role alone, and is declined when a row's class or options
are shared with another role (changing them would change that model too). A config key a loop copies
from `(name, value)` pairs is renamed in its pair."""

from __future__ import annotations

from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target

TARGET = Target.of("1.12.0", transformers="5.24.0")
HEAD = ("from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification\n"
        "from trl.experimental.ppo import PPOTrainer\n")
TRAINER = ("trainer = PPOTrainer(args=cfg, processing_class=tok, train_dataset=ds, **models)\n")


def _fix(body: str):
    source = HEAD + body + TRAINER
    return source, fix_source(source, "t.py", Settings(), TARGET, unsafe=True)


def _reasons(result, code: str) -> list[str]:
    return [skipped.reason for skipped in result.skipped if skipped.diagnostic.code == code]


ROWS = ("ROWS = [\n"
        "    ('model', AutoModelForCausalLM, 'sft', {}),\n"
        "    ('ref_model', AutoModelForCausalLM, 'sft', {}),\n"
        "    ('reward_model', {reward}, 'rm', {reward_options}),\n"
        "    ('value_model', AutoModelForCausalLM, 'rm', {value_options}),\n"
        "]\n"
        "models = {}\n"
        "for keyword, cls, path, options in ROWS:\n"
        "    models[keyword] = cls.from_pretrained(path, **options)\n")


def _rows(reward: str, reward_options: str, value_options: str) -> str:
    return ROWS.replace("{reward}", reward).replace("{reward_options}", reward_options) \
        .replace("{value_options}", value_options)


def test_the_value_rows_class_and_options_are_fixed_in_the_row():
    source, result = _fix(_rows("AutoModelForSequenceClassification", "{'num_labels': 1}", "{}"))
    fixed_row = "    ('value_model', AutoModelForSequenceClassification, 'rm', {\"num_labels\": 1}),\n"
    assert fixed_row in result.text
    # every other row and the shared call are as they were
    assert result.text.replace(fixed_row,
                               "    ('value_model', AutoModelForCausalLM, 'rm', {}),\n") == source
    assert not result.remaining


def test_the_reward_row_of_a_zip_table_is_fixed_in_its_columns():
    body = ("ROLES = ('model', 'ref_model', 'reward_model', 'value_model')\n"
            "CLASSES = (AutoModelForCausalLM, AutoModelForCausalLM, AutoModelForCausalLM,\n"
            "           AutoModelForSequenceClassification)\n"
            "OPTIONS = ({}, {}, dict(trust_remote_code=False), {'num_labels': 1})\n"
            "models = {role: cls.from_pretrained(path, **options)\n"
            "          for role, cls, path, options in zip(ROLES, CLASSES, ('sft', 'sft', 'rm', 'rm'), OPTIONS)}\n")
    _source, result = _fix(body)
    assert "CLASSES = (AutoModelForCausalLM, AutoModelForCausalLM, AutoModelForSequenceClassification,\n" \
           in result.text
    assert "OPTIONS = ({}, {}, dict(trust_remote_code=False, num_labels=1), {'num_labels': 1})\n" in result.text
    assert "cls.from_pretrained(path, **options)" in result.text
    assert not result.remaining


def test_declined_when_the_rows_share_one_options_dict():
    body = "SHARED = {}\n" + _rows("AutoModelForSequenceClassification", "SHARED", "SHARED")
    source, result = _fix(body)
    assert result.text == source
    assert any("serve the reward model too" in reason for reason in _reasons(result, "PPD103")), result.skipped


def test_declined_when_one_class_serves_two_roles():
    body = ("models = {}\n"
            "for keyword, path in (('reward_model', 'rm'), ('value_model', 'rm')):\n"
            "    models[keyword] = AutoModelForCausalLM.from_pretrained(path)\n"
            "models.update(model=policy, ref_model=ref)\n")
    source, result = _fix(body)
    assert result.text == source
    assert any("value model" in reason for reason in _reasons(result, "PPD104")), result.skipped
    assert any("reward model" in reason for reason in _reasons(result, "PPD103")), result.skipped


PAIRS = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
         "SETTINGS = [\n"
         "    ('output_dir', 'out'),\n"
         "    ('init_kl_coef', 0.05),\n"
         "    ('seed', 0),\n"
         "]\n"
         "config_kwargs = {}\n"
         "for name, value in SETTINGS:\n"
         "    config_kwargs[name] = value\n"
         "trainer = PPOTrainer(args=PPOConfig(**config_kwargs), processing_class=tok, model=policy, ref_model=ref,\n"
         "                     reward_model=rm, value_model=critic, train_dataset=ds)\n")


def test_a_config_key_copied_from_its_pair_is_renamed_in_the_pair():
    result = fix_source(PAIRS, "t.py", Settings(), TARGET, unsafe=True)
    assert result.text == PAIRS.replace("('init_kl_coef', 0.05)", "('kl_coef', 0.05)")


"""The port as text: the five fixture styles to their expected ports, what goes, what stays, what declines."""

from __future__ import annotations

import re

import pytest

from migrate_helpers import EXPECTED, SCRIPTS, STYLES, TARGETS, config_script, ported
from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.pipeline.migrate import migrate_source
from ppodoctor.trl_api.eras import Target, Version
from ppodoctor.types import ERROR

PPO_WORDS = re.compile(r"\b(PPOTrainer|PPOConfig|PPOv2Trainer|AutoModelForCausalLMWithValueHead|value_model|"
                       r"ref_model|create_reference_model)\b")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("style", STYLES)
def test_fixture_ports_as_expected(style, target):
    text = ported((SCRIPTS / f"{style}.py").read_text(), target)
    assert text == (EXPECTED / f"{style}.{target}.py").read_text()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("style", STYLES)
def test_ported_scripts_have_no_ppo_left_and_check_clean_on_116(style, target):
    text = (EXPECTED / f"{style}.{target}.py").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert not PPO_WORDS.search(code), PPO_WORDS.search(code)
    assert "PPOTrainer" not in text and "PPOConfig" not in text
    report = check_source(text, f"{style}.py", Settings(), Target(Version("1.16.0"), "--trl-version"))
    assert [d.code for d in report.diagnostics if d.severity == ERROR] == []
    # ... and the originals do have the PPD203 error there: the check can see what the port removed.
    original = check_source((SCRIPTS / f"{style}.py").read_text(), f"{style}.py", Settings(),
                            Target(Version("1.16.0"), "--trl-version"))
    assert "PPD203" in [d.code for d in original.diagnostics]


def test_comments_quotes_and_crlf_survive():
    source = config_script("PPOConfig(output_dir='o', kl_coef=0.1)  # tuned by hand").replace(
        "trainer.train()", "trainer.train()  # go")
    crlf = source.replace("\n", "\r\n")
    migration = migrate_source(crlf.encode("utf-8"), "t.py", "rloo")
    assert "\r\n" in migration.text and "\n" not in migration.text.replace("\r\n", "")
    assert "# tuned by hand" in migration.text and "trainer.train()  # go" in migration.text
    assert "output_dir='o'" in migration.text
    with_bom = migrate_source(b"\xef\xbb\xbf" + source.encode("utf-8"), "t.py", "rloo")
    assert with_bom.changed and with_bom.original.bom


def test_positional_012_arguments_become_keywords():
    source = config_script("PPOConfig(output_dir='o')", imports="from trl import PPOConfig, PPOTrainer",
                           trainer="trainer = PPOTrainer(config, tok, policy, ref, rm, ds, critic)\n")
    text = ported(source)
    assert re.search(r"RLOOTrainer\(\s*args=config,\s*processing_class=tok,\s*model=policy,\s*reward_funcs=rm,\s*"
                     r"train_dataset=ds,\s*reward_processing_classes=tok,?\s*\)", text), text
    assert "critic =" not in text and "ref =" not in text


def test_models_used_elsewhere_keep_their_loading_code():
    source = config_script("PPOConfig(output_dir='o')") + "critic.save_pretrained('critic')\n"
    text = ported(source)
    assert "critic = AutoModelForSequenceClassification" in text and "value_model" not in text
    assert "ref = " not in text


def test_a_reward_shared_with_the_value_model_stays():
    source = config_script("PPOConfig(output_dir='o')", trainer="trainer = PPOTrainer(args=config, "
                           "processing_class=tok, model=policy, ref_model=ref, reward_model=rm, value_model=rm, "
                           "train_dataset=ds)\n")
    text = ported(source)
    assert "rm = AutoModelForSequenceClassification" in text and "reward_funcs=rm" in text


def test_text_at_hand_under_another_column_is_renamed_not_decoded():
    source = config_script("PPOConfig(output_dir='o')").replace(
        'ds = Dataset.from_dict({"input_ids": [[5, 6, 7]]})',
        'ds = Dataset.from_dict({"query": ["a b"]})\n'
        'ds = ds.map(lambda row: {"input_ids": tok(row["query"])["input_ids"]}, remove_columns=["query"])')
    text = ported(source)
    assert 'ds = ds.rename_column("query", "prompt")' in text and "decode" not in text


def test_a_dataset_expression_is_decoded_in_place():
    source = config_script("PPOConfig(output_dir='o')").replace("train_dataset=ds)", "train_dataset=ds.select([0]))")
    assert '(ds.select([0])).map(lambda row: {"prompt": tok.decode(' in ported(source)


@pytest.mark.parametrize("change,reason", [
    (("trainer = PPOTrainer(", "class My(PPOTrainer):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"
      "trainer = My("), "subclasses PPOTrainer"),
    (("reward_model=rm, ", ""), "no reward model"),
    (("rm = AutoModelForSequenceClassification.from_pretrained(\"models/rm\", num_labels=1)",
      "rm = AutoModelForCausalLM.from_pretrained(\"models/rm\")"), "reward model is a causal LM"),
    (("trainer = PPOTrainer(args=config,", "trainer = PPOTrainer(**hidden, args=config,"), "cannot see"),
    (("config = PPOConfig(output_dir='o')", "config = load_config()"), "not a visible `PPOConfig(...)` call"),
])
def test_what_the_port_cannot_do_it_declines_with_the_reason(change, reason):
    source = config_script("PPOConfig(output_dir='o')").replace(*change)
    migration = migrate_source(source, "t.py", "rloo")
    assert reason in migration.declined, migration.declined
    assert not migration.changed


def test_a_loop_scored_by_code_is_declined():
    source = ("from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer\n"
              "config = PPOConfig(model_name='gpt2')\n"
              "model = AutoModelForCausalLMWithValueHead.from_pretrained('gpt2')\n"
              "trainer = PPOTrainer(config, model, None, tok, dataset=ds)\n"
              "for batch in trainer.dataloader:\n"
              "    responses = trainer.generate(batch['input_ids'])\n"
              "    trainer.step(batch['input_ids'], responses, [score(r) for r in responses])\n")
    migration = migrate_source(source, "t.py", "rloo")
    assert "no sequence-classifier reward model" in migration.declined


def test_nothing_to_port_and_unparsable_files():
    assert not migrate_source("import torch\n", "t.py").changed
    broken = migrate_source("from trl import PPOTrainer\nPPOTrainer(\n", "t.py")
    assert broken.error and not broken.changed


def test_a_release_without_the_successor_is_an_error():
    migration = migrate_source(config_script("PPOConfig(output_dir='o')"), "t.py", "rloo", version=Version("0.20.0"))
    assert "has no RLOOTrainer" in migration.error


def test_ppov2_trainer_scripts_port_like_012_ones():
    source = config_script("PPOv2Config(output_dir='o', kl_coef=0.1)",
                           imports="from trl import PPOv2Config, PPOv2Trainer",
                           trainer="trainer = PPOv2Trainer(config=config, tokenizer=tok, policy=policy, ref_policy=ref, "
                                   "reward_model=rm, value_model=critic, train_dataset=ds)\n")
    text = ported(source)
    assert "from trl import RLOOConfig, RLOOTrainer" in text and "PPOv2" not in text
    assert "beta=0.1" in text and "max_completion_length=53" in text  # PPOv2Config's defaults were 0.12's
    assert re.search(r"RLOOTrainer\(\s*args=config,\s*processing_class=tok,\s*model=policy,\s*reward_funcs=rm,", text)


def test_a_long_one_line_call_is_laid_out_with_the_changes_inside_it():
    source = config_script("None", imports="from trl import PPOConfig, PPOTrainer",
                           trainer="trainer = PPOTrainer(PPOConfig(output_dir='out', kl_coef=0.1), tok, policy, ref, rm, "
                                   "ds, critic)\n").replace("config = None\n", "")
    text = ported(source)
    assert "    args=RLOOConfig(\n        output_dir='out',\n        beta=0.1,\n" in text, text
    assert "\n    reward_processing_classes=tok,\n)\n" in text
    assert max(len(line) for line in text.splitlines()) <= 99


def test_a_latin1_file_gets_ascii_comments():
    source = config_script("PPOConfig(output_dir='caf\xe9', total_episodes=8)").encode("latin-1")
    migration = migrate_source(b"# -*- coding: latin-1 -*-\n" + source, "t.py", "rloo")
    assert migration.changed and not migration.error
    assert "output_dir='caf\xe9'" in migration.text
    assert "#   max_steps=" in migration.text and "\u00d7" not in migration.text


def test_a_port_that_would_not_parse_is_declined_whole():
    source = config_script("PPOConfig(output_dir='o')").replace(
        'critic = AutoModelForSequenceClassification.from_pretrained("models/rm", num_labels=1)',
        'if True:\n    critic = AutoModelForSequenceClassification.from_pretrained("models/rm", num_labels=1)')
    migration = migrate_source(source, "t.py", "rloo")
    assert "would not parse" in migration.declined and not migration.changed and not migration.error

"""The config's port: each field's fate and the batch arithmetic, on small scripts, read back as text."""

from __future__ import annotations

import re

import pytest

from migrate_helpers import config_script, ported
from ppodoctor.pipeline.migrate import migrate_source
from ppodoctor.migrate.model import NoteKind
from ppodoctor.trl_api.eras import Version


def new_config(text: str) -> str:
    match = re.search(r"config = (RLOO|GRPO)Config\((.*?)\)\n", text, re.S)
    assert match, text
    return " ".join(match.group(2).split())


def notes(source: str, target: str = "rloo", **kwargs) -> list[str]:
    migration = migrate_source(source, "train.py", target, **kwargs)
    return [note.text for note in migration.notes]


def test_renames_and_critic_fields():
    text = ported(config_script("PPOConfig(output_dir='o', kl_coef=0.1, cliprange=0.3, num_ppo_epochs=2, "
                                "response_length=16, temperature=0.9, learning_rate=1e-5, vf_coef=0.1, "
                                "cliprange_value=0.2, gamma=1.0, lam=0.95, whiten_rewards=True)"))
    config = new_config(text)
    for expected in ("beta=0.1", "epsilon=0.3", "num_iterations=2", "max_completion_length=16", "temperature=0.9",
                     "learning_rate=1e-5"):
        assert expected in config, config
    for gone in ("vf_coef", "cliprange_value", "gamma", "lam", "whiten_rewards"):
        assert f"{gone}=" not in config
        assert f"#   {gone}: no value model in RLOOTrainer" in text, gone
    assert "kl_coef" not in config


def test_max_steps_keeps_ppos_optimizer_steps():
    # ceil(1000 / (4 * 2 * 2)) rollouts × 2 mini-batches × 3 epochs
    text = ported(config_script("PPOConfig(output_dir='o', per_device_train_batch_size=4, "
                                "gradient_accumulation_steps=2, num_mini_batches=2, num_ppo_epochs=3, "
                                "total_episodes=1000)"))
    config = new_config(text)
    assert "max_steps=378" in config and "steps_per_generation=4" in config
    assert "num_generations=2" in config  # the generation batch 4 × 4 = 16 divides by 2


def test_max_steps_is_an_expression_when_the_episodes_are_not_literal():
    source = config_script("PPOConfig(output_dir='o', per_device_train_batch_size=2, total_episodes=episodes)")
    text = ported("episodes = int(input())\n" + source)
    # PPO's defaults: gradient_accumulation_steps 1, num_mini_batches 1, num_ppo_epochs 4
    assert "max_steps=-(-(episodes) // (2 * 1 * 1)) * 1 * 4" in new_config(text)
    namespace = {}
    exec("episodes = 9\nvalue = -(-(episodes) // (2 * 1 * 1)) * 1 * 4", namespace)
    assert namespace["value"] == 20  # ceil(9 / 2) rollouts × 4 epochs


@pytest.mark.parametrize("per_device,accumulation,expected", [(3, 1, "num_generations=3"), (6, 1, "num_generations=2"),
                                                             (5, 3, "num_generations=3")])
def test_num_generations_divides_the_generation_batch(per_device, accumulation, expected):
    text = ported(config_script(f"PPOConfig(output_dir='o', per_device_train_batch_size={per_device}, "
                                f"gradient_accumulation_steps={accumulation})"), "grpo")
    assert expected in new_config(text)


def test_a_generation_batch_of_one_gets_two_steps():
    text = ported(config_script("PPOConfig(output_dir='o', per_device_train_batch_size=1)"), "grpo")
    config = new_config(text)
    assert "steps_per_generation=2" in config and "num_generations=2" in config


def test_grpo_carries_an_explicit_kl_coefficient_and_says_when_there_is_none():
    assert "beta=0.02" in new_config(ported(config_script("PPOConfig(output_dir='o', kl_coef=0.02)"), "grpo"))
    source = config_script("PPOConfig(output_dir='o')")
    assert "beta=" not in new_config(ported(source, "grpo"))
    assert any("no KL penalty" in n and "0.05" in n for n in notes(source, "grpo"))
    assert "beta=" not in new_config(ported(source, "rloo"))  # PPO's 0.05 is RLOO's default too


def test_ppo_defaults_are_kept_where_the_new_ones_differ():
    config = new_config(ported(config_script("PPOConfig(output_dir='o', learning_rate=1e-5)")))
    assert "max_completion_length=53" in config and "temperature=0.7" in config and "num_iterations=4" in config


def test_a_default_that_changed_across_the_releases_the_script_fits_is_reported_not_guessed():
    source = config_script("PPOConfig(output_dir='o')")  # trl.experimental.ppo: 0.26 - 1.12
    assert "learning_rate" not in new_config(ported(source))
    assert any("learning_rate" in n and "differs" in n for n in notes(source))
    pinned = ported(source, pinned=Version("1.12.0"))
    assert "learning_rate=3e-06" in new_config(pinned)


def test_trl_012_defaults_keep_fp32_and_the_learning_rate():
    source = config_script("PPOConfig(output_dir='o')", imports="from trl import PPOConfig, PPOTrainer",
                           trainer="trainer = PPOTrainer(config=config, processing_class=tok, policy=policy, "
                                   "ref_policy=ref, reward_model=rm, value_model=critic, train_dataset=ds)\n")
    config = new_config(ported(source))
    assert "bf16=False" in config and "learning_rate=5e-05" in config


def test_missing_eos_penalty_becomes_a_reward_function():
    text = ported(config_script("PPOConfig(output_dir='o', missing_eos_penalty=1.0, stop_token='eos')"))
    assert "missing_eos_penalty" not in new_config(text)
    assert "def missing_eos_penalty(completion_ids, **kwargs):" in text
    assert "reward_funcs=[rm, missing_eos_penalty]" in text and "reward_processing_classes=[tok, None]" in text
    namespace = {"tok": type("T", (), {"eos_token_id": 2})()}
    exec(text[text.index("def missing_eos_penalty"):text.index("\n\n\n", text.index("def missing_eos"))], namespace)
    assert namespace["missing_eos_penalty"]([[4, 2], [4, 5]]) == [0.0, -1.0]


OLD = ("from transformers import AutoTokenizer, AutoModelForSequenceClassification\n"
       "from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer\n"
       "config = PPOConfig(model_name='models/policy', {fields})\n"
       "tok = AutoTokenizer.from_pretrained(config.model_name)\n"
       "model = AutoModelForCausalLMWithValueHead.from_pretrained(config.model_name)\n"
       "rm = AutoModelForSequenceClassification.from_pretrained('models/rm', num_labels=1)\n"
       "trainer = PPOTrainer(config, model, None, tok, dataset=ds)\n"
       "for batch in trainer.dataloader:\n"
       "    responses = trainer.generate(batch['input_ids'], max_new_tokens=8)\n"
       "    rewards = [rm(r).logits[0] for r in responses]\n"
       "    trainer.step(batch['input_ids'], responses, rewards)\n")


def test_old_era_batch_arithmetic_and_fields():
    text = ported(OLD.format(fields="batch_size=16, mini_batch_size=4, ppo_epochs=2, init_kl_coef=0.1, "
                                    "log_with=None, score_clip=0.5, adap_kl_ctrl=True, target=6"))
    config = new_config(text)
    for expected in ("per_device_train_batch_size=4", "steps_per_generation=4", "num_iterations=2", "beta=0.1",
                     'report_to="none"', "reward_clip_range=(-(0.5), 0.5)", "num_train_epochs=1",
                     "max_completion_length=8", "bf16=False", "num_generations=2"):
        assert expected in config, (expected, config)
    assert "model_name" not in config and "config.model_name" not in text
    assert "AutoTokenizer.from_pretrained('models/policy')" in text
    assert "AutoModelForCausalLM.from_pretrained('models/policy')" in text
    grpo = new_config(ported(OLD.format(fields="score_clip=0.5"), "grpo"))
    assert "reward_clip_range" not in grpo and "score_clip" not in grpo


def test_old_defaults_are_carried():
    config = new_config(ported(OLD.format(fields="seed=1")))
    # 0.11's batch_size=128 = mini_batch_size=128: one mini-batch a rollout; ppo_epochs=4; init_kl_coef=0.2
    assert "per_device_train_batch_size=128" in config and "num_iterations=4" in config and "beta=0.2" in config
    assert "steps_per_generation" not in config


def test_unported_things_are_notes_of_their_kind():
    source = config_script("PPOConfig(output_dir='o', per_device_train_batch_size=size, total_episodes=100)")
    migration = migrate_source("size = int(input())\n" + source, "t.py", "rloo")
    unported = [n.text for n in migration.notes if n.kind is NoteKind.UNPORTED]
    assert any("num_generations=2" in n and "not literals" in n for n in unported)


def test_a_stop_token_id_is_reported_not_guessed():
    source = config_script("PPOConfig(output_dir='o', stop_token_id=7)")
    assert "stop_token_id" not in new_config(ported(source))
    migration = migrate_source(source, "t.py", "rloo")
    unported = [n.text for n in migration.notes if n.kind is NoteKind.UNPORTED]
    assert any(n.startswith("stop_token_id=7 is not carried over") for n in unported), unported


def test_fix_and_migrate_say_the_same_of_init_kl_coef():
    """One table (trl_api/old_config_fields.json) for a field with only a closest equivalent: PPD205's
    unsafe rename to kl_coef and the port's beta say the same change of meaning."""
    from ppodoctor.api import check_source
    from ppodoctor.config import Settings
    from ppodoctor.trl_api import config_moves
    from ppodoctor.trl_api.eras import Target

    why = config_moves.move_of("init_kl_coef", fixed_kl=False).why
    assert "adapted" in why and "fixed" in why
    assert f"beta: {why}" in notes(OLD.format(fields="init_kl_coef=0.1"))
    assert not any(why in n for n in notes(OLD.format(fields="init_kl_coef=0.1, adap_kl_ctrl=False")))
    script = ("from trl.experimental.ppo import PPOConfig\n"
              "config = PPOConfig(output_dir='o', init_kl_coef=0.1)\n")
    report = check_source(script, "t.py", Settings(), Target.of("1.12.0", transformers="5.24.0"))
    (finding,) = [d for d in report.diagnostics if d.code == "PPD205"]
    assert why in finding.message

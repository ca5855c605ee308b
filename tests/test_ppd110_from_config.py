"""PPD110 on a policy or reference built from a config (issue 21: a fix for every mechanical cure):
`AutoModel.from_config(config)` and `LlamaModel(config)` become `AutoModelForCausalLM.from_config(config)`.
The fix is unsafe (the probe builds models from `from_pretrained` only, so it stays unchecked): written
with --unsafe-fixes, and then the script, broken first with TRL's real error, trains in real trl 1.12."""

from __future__ import annotations

import sys

from e2e_matrix import CONFIG, DATASET, make_models, run_scripts
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths, fix_source
from ppodoctor.trl_api.eras import Target

TARGET = Target.of("1.12.0", transformers="5.24.0")


def script(models) -> str:
    return (
        "from datasets import Dataset\n"
        "from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer, "
        "LlamaModel\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{models}/policy", padding_side="left")\n'
        f'config = AutoConfig.from_pretrained("{models}/policy")\n'
        "policy = AutoModel.from_config(config)\n"
        "ref = LlamaModel(config)\n"
        f'reward = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
        f'critic = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
        f"trainer = PPOTrainer(args=PPOConfig({CONFIG.format(out=repr('out'), epochs='num_ppo_epochs=1')}), "
        "processing_class=tokenizer, model=policy, ref_model=ref, reward_model=reward, value_model=critic, "
        f"train_dataset={DATASET})\n"
        "trainer.train()\n")


def test_the_fix_builds_both_from_the_same_config_as_causal_lms():
    only = Settings(select=("PPD110",))
    fixed = fix_source(script("m"), "train.py", only, TARGET, unsafe=True)
    assert [d.code for d in fixed.applied] == ["PPD110", "PPD110"]
    assert "policy = AutoModelForCausalLM.from_config(config)\nref = AutoModelForCausalLM.from_config(config)\n" \
        in fixed.text
    assert "AutoModelForCausalLM" in fixed.text.split("tokenizer =")[0]  # imported before it is used
    assert fix_source(script("m"), "train.py", only, TARGET).applied == ()  # unsafe: not without asking


def test_broken_then_fixed_then_trains(tmp_path):
    make_models(sys.executable, tmp_path / "models")
    path = tmp_path / "run" / "train.py"
    path.parent.mkdir()
    path.write_text(script(tmp_path / "models"))
    broken = run_scripts(sys.executable, [path])[str(path)]
    assert broken["returncode"] != 0 and "object has no attribute 'generation_config'" in broken["stderr"]
    result = fix_paths([path], Settings(), TARGET, unsafe=True, write=True, probe=False).files[0]
    assert result.written and [d.code for d in result.applied] == ["PPD110", "PPD110"]
    trained = run_scripts(sys.executable, [path])[str(path)]
    assert trained["returncode"] == 0, trained["stderr"][-2000:]

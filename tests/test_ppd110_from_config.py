"""PPD110 on a policy or reference built from a config (issue 21: a fix for every mechanical cure):
`AutoModel.from_config(config)` and `LlamaModel(config)` become `AutoModelForCausalLM.from_config(config)`.
The fix is unsafe without the probe (the source does not show that the config has a causal-LM class); the
probe builds the models from the same config on the meta device, confirms the fix, and `fix --write`
writes it: the script, broken first with TRL's real error, then trains in real trl 1.12. A config the
probe cannot rebuild (changed after it is made) leaves the fix unchecked, with that reason, and unwritten.
"""

from __future__ import annotations

import sys

from e2e_matrix import CONFIG, DATASET, make_models, run_scripts
from ppodoctor.config import Settings
from ppodoctor.core import parse_setup
from ppodoctor.pipeline.fix import fix_paths, fix_source
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import Role, Verdict

TARGET = Target.of("1.12.0", transformers="5.24.0")


def script(models, config_line: str = "") -> str:
    return (
        "from datasets import Dataset\n"
        "from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer, "
        "LlamaModel\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{models}/policy", padding_side="left")\n'
        f'config = AutoConfig.from_pretrained("{models}/policy")\n'
        f"{config_line}"
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
    assert fix_source(script("m"), "train.py", only, TARGET).applied == ()  # unsafe: not without the probe


def test_the_probe_rebuilds_the_config_a_model_is_built_from():
    fixed = fix_source(script("m"), "train.py", Settings(select=("PPD110",)), TARGET, unsafe=True)
    for role in (Role.POLICY, Role.REFERENCE):
        config = fixed.before.setups[0].origin(role).config
        assert config.class_name == "transformers.AutoConfig" and config.path.value == "m/policy"
    built = parse_setup(script("m").replace('config = AutoConfig.from_pretrained("m/policy")',
                                            "config = LlamaConfig(hidden_size=16, num_hidden_layers=1)")
                        .replace("LlamaModel\n", "LlamaConfig, LlamaModel\n", 1), "t.py")
    config = built.setups[0].origin(Role.POLICY).config
    assert config.class_name == "transformers.LlamaConfig" and [k.name for k in config.keywords] == \
        ["hidden_size", "num_hidden_layers"]
    unseen = parse_setup(script("m").replace('AutoConfig.from_pretrained("m/policy")', "load_config()"), "t.py")
    assert unseen.setups[0].origin(Role.POLICY).config is None  # nothing to rebuild: the probe says so


def test_broken_then_fixed_with_the_probe_then_trains(tmp_path):
    make_models(sys.executable, tmp_path / "models")
    path = tmp_path / "run" / "train.py"
    changed = tmp_path / "changed" / "train.py"
    # A literal change to the config is rebuilt by the probe; a call that changes it is not followed.
    for where, extra in ((path, "config.num_hidden_layers = 1\n"), (changed, "config.update({'use_cache': False})\n")):
        where.parent.mkdir()
        where.write_text(script(tmp_path / "models", extra))
    runs = run_scripts(sys.executable, [path, changed])
    for where in (path, changed):
        broken = runs[str(where)]
        assert broken["returncode"] != 0 and "object has no attribute 'generation_config'" in broken["stderr"]
    report = fix_paths([path, changed], Settings(), TARGET, write=True)  # the probe on, no --unsafe-fixes
    result, held = sorted(report.files, key=lambda f: f.path != str(path))
    assert result.written and [d.code for d in result.applied] == ["PPD110", "PPD110"]
    assert [v.status for v in result.verdicts] == [Verdict.CONFIRMED, Verdict.CONFIRMED], result.verdicts
    assert not held.written and "config.update" in changed.read_text() and "AutoModelForCausalLM" not in changed.read_text()
    assert {v.status for v in held.verdicts} == {Verdict.UNCHECKED}, held.verdicts
    assert all("is changed after it is made (`.update(...)`)" in v.detail for v in held.verdicts), held.verdicts
    trained = run_scripts(sys.executable, [path])[str(path)]
    assert trained["returncode"] == 0, trained["stderr"][-2000:]

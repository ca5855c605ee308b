"""PPD209's fixes (issue 21: a fix for every mechanical cure): a trl name imported from where the target
no longer has it is imported from its new home when it moved unchanged, and a constant that no module of
the target holds is written in the script, with the value the releases that had it bound it to
(ppodoctor/trl_api/constants.json, read from their wheels). The real run: a script that imports
`SIMPLE_CHAT_TEMPLATE` from `trl.trainer.utils` dies with trl 1.12's ImportError; `fix --write` (the probe
on) inlines it, and the script trains."""

from __future__ import annotations

import subprocess
import sys

import pytest

from e2e_matrix import CONFIG, DATASET, make_models, run_scripts
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths, fix_source
from ppodoctor.trl_api.constants import constant_value
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import SAFE, UNSAFE, Verdict
from probe_helpers import trl012_python

ONLY = Settings(select=("PPD209",))
PPO = "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
NEW = Target.of("1.12.0", transformers="5.24.0")
TEMPLATE = ("\"{% for message in messages %}{{message['role'].capitalize() + ': ' + message['content'] + '\\n\\n'}}"
            "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}\"")


def fixed(source: str, target: Target = NEW, unsafe: bool = False):
    return fix_source(source, "train.py", ONLY, target, unsafe=unsafe)


def test_the_constants_are_read_from_the_releases():
    value = constant_value("trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE")
    assert value.source == TEMPLATE and value.unchanged and value.last_version == "0.26.2"
    assert constant_value("trl.trainer.utils", "get_kbit_device_map") is None  # a function, not a constant


def test_the_table_agrees_with_an_installed_release_that_has_it():
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter")
    shown = subprocess.run([python, "-c", "import trl.trainer.utils as u; print(repr(u.SIMPLE_CHAT_TEMPLATE))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert shown == constant_value("trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE").source


def test_a_constant_no_module_of_the_target_has_is_written_in_the_script():
    result = fixed(PPO + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\nprint(SIMPLE_CHAT_TEMPLATE)\n")
    assert result.text == PPO + f"SIMPLE_CHAT_TEMPLATE = {TEMPLATE}\nprint(SIMPLE_CHAT_TEMPLATE)\n"
    assert result.applied[0].fix.applicability == SAFE
    assert "its value can be written in the script" in result.applied[0].message


def test_an_alias_and_a_name_that_stays_keep_their_spelling():
    source = PPO + "    from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE as T, disable_dropout_in_model\n"
    result = fixed("def main():\n" + source.replace(PPO, "    " + PPO))
    assert "    from trl.trainer.utils import disable_dropout_in_model\n" \
           f"    T = {TEMPLATE}\n" in result.text


def test_a_name_that_moved_unchanged_is_imported_from_its_new_home():
    result = fixed(PPO + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n", Target.of("0.27.0"))
    assert result.text == PPO + "from trl.experimental.utils import SIMPLE_CHAT_TEMPLATE\n"


def test_a_value_that_changed_between_releases_is_unsafe():
    source = PPO + "from trl.trainer.ppo_trainer import MODEL_CARD_TEMPLATE\n"
    assert fixed(source).applied == ()
    result = fixed(source, unsafe=True)
    assert result.applied[0].fix.applicability == UNSAFE
    assert result.text.startswith(PPO + "MODEL_CARD_TEMPLATE = '---\\nlicense: apache-2.0\\nlibrary_name: transformers")


def test_no_fix_when_a_name_of_the_statement_is_not_a_constant():
    result = fixed(PPO + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE, get_kbit_device_map\n")
    assert result.applied == () and [d.fix for d in result.remaining] == [None, None]


def test_no_finding_where_the_target_has_it():
    assert fixed(PPO.replace(".experimental.ppo", "") + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n",
                 Target.of("0.20.0")).remaining == ()


def script(models) -> str:
    return ("from datasets import Dataset\n"
            "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
            "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
            "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n"
            f'tokenizer = AutoTokenizer.from_pretrained("{models}/policy", padding_side="left")\n'
            "tokenizer.chat_template = SIMPLE_CHAT_TEMPLATE\n"
            'assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False) == '
            '"User: hi\\n\\n"\n'
            f'policy = AutoModelForCausalLM.from_pretrained("{models}/policy")\n'
            f'ref = AutoModelForCausalLM.from_pretrained("{models}/policy")\n'
            f'reward = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
            f'critic = AutoModelForSequenceClassification.from_pretrained("{models}/rm", num_labels=1)\n'
            f"trainer = PPOTrainer(args=PPOConfig({CONFIG.format(out=repr('out'), epochs='num_ppo_epochs=1')}), "
            "processing_class=tokenizer, model=policy, ref_model=ref, reward_model=reward, value_model=critic, "
            f"train_dataset={DATASET})\n"
            "trainer.train()\n")


def test_broken_then_fixed_with_the_probe_then_trains(tmp_path):
    make_models(sys.executable, tmp_path / "models")
    path = tmp_path / "run" / "train.py"
    path.parent.mkdir()
    path.write_text(script(tmp_path / "models"))
    broken = run_scripts(sys.executable, [path])[str(path)]
    assert "cannot import name 'SIMPLE_CHAT_TEMPLATE' from 'trl.trainer.utils'" in broken["stderr"]
    result = fix_paths([path], Settings(), NEW, write=True).files[0]  # the probe on
    assert result.written and [d.code for d in result.applied] == ["PPD209"], result.not_written
    assert [v.status for v in result.verdicts] == [Verdict.CONFIRMED], result.verdicts
    assert f"SIMPLE_CHAT_TEMPLATE = {TEMPLATE}\n" in path.read_text()
    trained = run_scripts(sys.executable, [path])[str(path)]
    assert trained["returncode"] == 0, trained["stderr"][-2000:]

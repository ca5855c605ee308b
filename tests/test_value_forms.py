"""Value forms the style corpus met (issue 20): conditional expressions, paths built from `__file__`
with pathlib / os.path, and YAML/JSON texts the script parses. Each form is read where the source tells
it, and stays unknown (no finding, a reason) where it does not."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

from ppodoctor.api import check_file, check_source
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target, Version

TARGET = Target(Version.parse("1.12.0"), "--trl-version")
MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"

HEAD = """\
import json
import os
from pathlib import Path

import yaml
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

"""
TOKENIZER = 'tok = AutoTokenizer.from_pretrained("sft")\ntok.add_special_tokens({"pad_token": "[PAD]"})\n'
POLICY = 'policy = AutoModelForCausalLM.from_pretrained("sft")\nref = AutoModelForCausalLM.from_pretrained("sft")\n'
REWARD = 'rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)\n'
CRITIC = 'critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)\n'
CALL = ("trainer = PPOTrainer(args=PPOConfig(output_dir='out'), processing_class=tok, model=policy, ref_model=ref,\n"
        "                     reward_model=rm, value_model=critic, train_dataset=None)\n")


def script(*parts: str) -> str:
    return HEAD + "".join(textwrap.dedent(part) for part in parts)


def report(text: str, filename: str = "train.py"):
    return check_source(text, filename, Settings(), TARGET)


def codes(text: str, filename: str = "train.py") -> list[str]:
    return sorted(d.code for d in report(text, filename).diagnostics)


def role_origin(text: str, role: str, filename: str = "train.py"):
    return report(text, filename).setup.setups[0].role(role).origin


# --- conditional expressions ------------------------------------------------------------------------

LOADER = 'AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)'


def test_a_conditional_whose_test_is_a_false_constant_is_its_else_branch():
    text = script(TOKENIZER, POLICY, REWARD, f"USE_CRITIC = False\ncritic = {LOADER} if USE_CRITIC else None\n", CALL)
    assert "PPD102" in codes(text)
    assert role_origin(text, "value").kind == "none"


def test_a_conditional_whose_test_is_true_is_its_first_branch():
    for test in ("True", "not False", "USE", "not OFF", "'yes'"):
        text = script(TOKENIZER, POLICY, REWARD, f"USE, OFF = 1, 0\ncritic = {LOADER} if {test} else None\n", CALL)
        assert codes(text) == [], test
        assert role_origin(text, "value").kind == "from_pretrained", test


def test_a_conditional_the_source_cannot_decide_is_not_a_definite_none():
    text = script(TOKENIZER, POLICY, REWARD, f"critic = {LOADER} if os.environ.get('CRITIC') else None\n", CALL)
    assert codes(text) == []  # no PPD102: the critic may be built
    origin = role_origin(text, "value")
    assert origin.kind == "unknown" and "decides at run time" in origin.reason


def test_a_conditional_value_is_the_chosen_branch_or_both_branches_alike():
    chosen = 'rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=2 if WIDE else 1)\n'
    assert "PPD105" in codes(script(TOKENIZER, POLICY, "WIDE = True\n", chosen, CRITIC, CALL))
    assert "PPD105" not in codes(script(TOKENIZER, POLICY, "WIDE = False\n", chosen, CRITIC, CALL))
    alike = 'rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=2 if FLAG else 2)\n'
    text = script(TOKENIZER, POLICY, "FLAG = os.environ.get('F')\n", alike, CRITIC, CALL)
    assert "PPD105" in codes(text)
    undecided = script(TOKENIZER, POLICY, "FLAG = os.environ.get('F')\n", chosen.replace("WIDE", "FLAG"), CRITIC, CALL)
    assert "PPD105" not in codes(undecided)
    labels = role_origin(undecided, "reward").keyword("num_labels").value
    assert labels.kind == "unknown" and "decides between two values" in labels.reason


def test_a_mapping_chosen_by_a_conditional_gives_its_keywords_only_when_the_test_is_known():
    part = ('OPTIONS = {"num_labels": 2} if WIDE else {"num_labels": 1}\n'
            'rm = AutoModelForSequenceClassification.from_pretrained("rm", **OPTIONS)\n')
    assert "PPD105" in codes(script(TOKENIZER, POLICY, "WIDE = True\n", part, CRITIC, CALL))
    assert "PPD105" not in codes(script(TOKENIZER, POLICY, "WIDE = False\n", part, CRITIC, CALL))
    undecided = script(TOKENIZER, POLICY, "WIDE = os.environ.get('W')\n", part, CRITIC, CALL)
    assert "PPD105" not in codes(undecided) and role_origin(undecided, "reward").partial


# --- paths from __file__ --------------------------------------------------------------------------

def _tokenizers(root: Path) -> None:
    shutil.copytree(MODELS / "tok-nopad", root / "models" / "nopad")
    shutil.copytree(MODELS / "tok-pad", root / "models" / "pad")


def _path_script(path_expression: str) -> str:
    return script(f"tok = AutoTokenizer.from_pretrained({path_expression})\n", POLICY, REWARD, CRITIC, CALL)


def test_pathlib_over_file_reads_the_saved_tokenizer_beside_the_script(tmp_path):
    _tokenizers(tmp_path)
    for name, found in (("nopad", ["PPD301"]), ("pad", [])):
        text = _path_script(f'Path(__file__).resolve().parent / "models" / "{name}"')
        (tmp_path / "train.py").write_text(text)
        assert codes(text, str(tmp_path / "train.py")) == found, name
        path = role_origin(text, "processing_class", str(tmp_path / "train.py")).path
        assert path.value == os.path.join(os.path.realpath(tmp_path), "models", name)


def test_os_path_over_file_and_joinpath_read_the_same_directory(tmp_path):
    _tokenizers(tmp_path)
    for expression in ('os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "nopad")',
                       'Path(__file__).absolute().parent.joinpath("models", "nopad")',
                       'str(Path(os.path.realpath(__file__)).parent / "models") + "/nopad"'):
        text = _path_script(expression)
        (tmp_path / "train.py").write_text(text)
        assert codes(text, str(tmp_path / "train.py")) == ["PPD301"], expression


def test_file_without_a_file_and_a_relative_resolve_stay_unknown():
    path = role_origin(_path_script('Path(__file__).parent / "tok"'), "processing_class", "<stdin>").path
    assert path.kind == "unknown" and "no file" in path.reason
    path = role_origin(_path_script('Path("models").resolve() / "tok"'), "processing_class").path
    assert path.kind == "unknown"


def test_a_notebook_has_no_file_so_its_path_stays_unknown(tmp_path):
    _tokenizers(tmp_path)
    text = _path_script('Path(__file__).resolve().parent / "models" / "nopad"')
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": text.splitlines(True)}
    (tmp_path / "train.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                                      "nbformat_minor": 5}))
    (tmp_path / "train.py").write_text(text)
    paths = {name: check_file(tmp_path / name).setup.setups[0].role("processing_class").origin.path
             for name in ("train.ipynb", "train.py")}
    assert paths["train.ipynb"].kind == "unknown" and "notebook" in paths["train.ipynb"].reason
    assert paths["train.py"].value == os.path.join(os.path.realpath(tmp_path), "models", "nopad")


# --- YAML and JSON texts ----------------------------------------------------------------------------

YAML_TEXT = '''\
RUN = yaml.safe_load("""
reward:
  load:
    num_labels: 2   # two logits
    ignore_mismatched_sizes: true
""")
rm = AutoModelForSequenceClassification.from_pretrained("rm", **RUN["reward"]["load"])
'''


def test_a_yaml_text_in_the_script_gives_the_loader_its_keywords_and_the_fix_edits_the_text():
    text = script(TOKENIZER, POLICY, YAML_TEXT, CRITIC, CALL)
    assert codes(text) == ["PPD105"]
    keywords = {k.name: k.value.value for k in role_origin(text, "reward").keywords}
    assert keywords == {"num_labels": 2, "ignore_mismatched_sizes": True}
    fixed = fix_source(text, "train.py", Settings(), TARGET).text
    assert "    num_labels: 1   # two logits\n" in fixed and codes(fixed) == []


def test_a_json_text_through_a_name_is_read_and_a_correct_one_gets_no_finding():
    for labels, found in ((2, ["PPD105"]), (1, [])):
        part = (f"TEXT = '{{\"reward\": {{\"num_labels\": {labels}}}, \"path\": \"rm\"}}'\nDATA = json.loads(TEXT)\n"
                'rm = AutoModelForSequenceClassification.from_pretrained(DATA["path"], **DATA["reward"])\n')
        assert codes(script(TOKENIZER, POLICY, part, CRITIC, CALL)) == found


def test_texts_whose_positions_or_data_cannot_be_told_stay_unknown():
    escaped = YAML_TEXT.replace("# two logits", "# two\\tlogits")
    merged = YAML_TEXT.replace("reward:\n", "base: &b {num_labels: 2}\nreward:\n").replace(
        "  load:\n    num_labels: 2   # two logits\n", "  load:\n    <<: *b\n")
    for text in (escaped, merged, YAML_TEXT.replace('"""\nreward', 'f"""\nreward')):
        origin = role_origin(script(TOKENIZER, POLICY, text, CRITIC, CALL), "reward")
        assert origin.partial and origin.keyword("num_labels") is None, text

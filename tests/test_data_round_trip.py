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


# --- configparser: an INI text the script holds, writes, or keeps beside it ---------------------------

INI_HEAD = """\
import configparser
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

SETTINGS = '''
[DEFAULT]
root = models
episodes = 8

[paths]
policy = %(root)s/policy
reward = ${root}/rm

[ppo]
episodes = 2
learning_rate = 3e-6
whiten = yes
'''
"""
INI_USE = """\
tok = AutoTokenizer.from_pretrained(paths["policy"])
tok.add_special_tokens({"pad_token": "[PAD]"})
policy = AutoModelForCausalLM.from_pretrained(paths["policy"])
ref = AutoModelForCausalLM.from_pretrained(cp.get("paths", "policy"))
rm = AutoModelForSequenceClassification.from_pretrained(cp["paths"]["reward"], num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained(paths.get("reward", fallback="x"), num_labels=1)
config = PPOConfig(output_dir=cp.get("paths", "out", fallback="out"), total_episodes=cp["ppo"].getint("episodes"),
                   learning_rate=cp.getfloat("ppo", "learning_rate"), whiten_rewards=cp["ppo"].getboolean("whiten"),
                   seed=cp.getint("paths", "episodes"))
trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=None)
"""
READ_STRING = "cp = configparser.ConfigParser()\ncp.read_string(SETTINGS)\npaths = cp['paths']\n"


def _setup(text: str, filename: str = "train.py"):
    return check_source(text, filename, Settings(), TARGET).setup.setups[0]


def _paths_and_config(setup) -> tuple[dict, dict]:
    paths = {str(binding.role): binding.origin.path for binding in setup.roles if binding.origin.path.text}
    config = setup.role("config").origin
    return paths, {keyword.name: keyword.value for keyword in config.keywords}


def test_an_ini_text_read_with_configparser_is_read_as_configparser_reads_it():
    # The `%(root)s` of the basic interpolation is configparser's own: `${root}` stays as written.
    paths, config = _paths_and_config(_setup(INI_HEAD + READ_STRING + INI_USE))
    assert {role: value.value for role, value in paths.items()} == {
        "processing_class": "models/policy", "policy": "models/policy", "reference": "models/policy",
        "reward": "${root}/rm", "value": "${root}/rm"}
    assert all(value.kind == "literal" for value in paths.values())
    # getint / getfloat / getboolean, a fallback, and a key the section inherits from DEFAULT
    assert {name: value.value for name, value in config.items()} == {
        "output_dir": "out", "total_episodes": 2, "learning_rate": 3e-6, "whiten_rewards": True, "seed": 8}


def test_extended_interpolation_read_dict_and_set_are_replayed_in_order():
    text = INI_HEAD + textwrap.dedent("""\
        cp = configparser.ConfigParser(interpolation=configparser.ExtendedInterpolation())
        cp.read_dict({"ppo": {"episodes": "4"}})
        cp.read_string(SETTINGS)
        cp.set("ppo", "learning_rate", "1e-5")
        cp["paths"]["policy"] = "${root}/sft"
        paths = cp["paths"]
        """) + INI_USE
    paths, config = _paths_and_config(_setup(text))
    assert paths["policy"].value == "models/sft" and paths["reward"].value == "models/rm"
    assert config["learning_rate"].value == 1e-5 and config["total_episodes"].value == 2


def test_an_ini_file_the_script_writes_or_keeps_beside_it_is_read(tmp_path):
    written = INI_HEAD + textwrap.dedent("""\
        from pathlib import Path
        Path("settings.ini").write_text(SETTINGS)
        cp = configparser.ConfigParser()
        cp.read("settings.ini")
        paths = cp["paths"]
        """) + INI_USE
    assert _paths_and_config(_setup(written))[0]["policy"].value == "models/policy"
    # a project's config file beside the script: reading it is reading source
    (tmp_path / "settings.ini").write_text("[paths]\npolicy = beside/policy\nreward = beside/rm\n[ppo]\n"
                                           "episodes = 3\nlearning_rate = 1e-6\nwhiten = no\n")
    beside = INI_HEAD + textwrap.dedent("""\
        cp = configparser.ConfigParser()
        with open("settings.ini") as handle:
            cp.read_file(handle)
        paths = cp["paths"]
        """) + INI_USE.replace('cp.getint("paths", "episodes")', "0")
    script_file = tmp_path / "train.py"
    script_file.write_text(beside)
    from ppodoctor.api import check_file

    setup = check_file(script_file, Settings(), TARGET).setup.setups[0]
    paths, config = _paths_and_config(setup)
    assert paths["reward"].value == "beside/rm" and config["total_episodes"].value == 3
    assert config["whiten_rewards"].value is False


def test_what_configparser_cannot_tell_stays_unknown_with_the_reason():
    cases = {
        # a key the section lacks: the run fails there (KeyError), no value to judge by
        "cp = configparser.ConfigParser()\ncp.read_string(SETTINGS)\npaths = cp['ppo']\n": "configparser fails",
        # changed on one branch only
        "import sys\ncp = configparser.ConfigParser()\ncp.read_string(SETTINGS)\n"
        "if sys.argv[1:]:\n    cp.set('paths', 'policy', 'other')\npaths = cp['paths']\n": "on some paths only",
        # handed to a function that may change it
        "def tune(parser):\n    parser.set('paths', 'policy', 'other')\n\n"
        "cp = configparser.ConfigParser()\ncp.read_string(SETTINGS)\ntune(cp)\npaths = cp['paths']\n": "handed to `tune`",
        # a file the script neither writes nor keeps (check_source: no file, so no project beside it)
        "cp = configparser.ConfigParser()\ncp.read('settings.ini')\npaths = cp['paths']\n": "not a file of the project",
        # a text the source does not show
        "import sys\ncp = configparser.ConfigParser()\ncp.read_string(sys.argv[1])\npaths = cp['paths']\n": "sys.argv",
    }
    for part, reason in cases.items():
        policy = _paths_and_config(_setup(INI_HEAD + part + INI_USE))[0]["policy"]
        assert policy.kind == "unknown" and reason in policy.reason, (part, policy)


def test_a_tokenizer_path_from_an_ini_text_is_judged_by_its_saved_files():
    # PPD301 reads the saved tokenizer the INI text names: one with no pad token gets the error, one with
    # a pad token nothing (before configparser was evaluated both got a warning: the path was unknown).
    from probe_helpers import MODELS

    def tokenizer_codes(directory: str) -> list[str]:
        text = INI_HEAD.replace("root = models", f"root = {MODELS}") + READ_STRING + INI_USE.replace(
            'tok = AutoTokenizer.from_pretrained(paths["policy"])\ntok.add_special_tokens({"pad_token": "[PAD]"})',
            f'tok = AutoTokenizer.from_pretrained(cp.get("DEFAULT", "root") + "/{directory}")')
        return [(d.code, d.severity.value) for d in check_source(text, "train.py", Settings(), TARGET).diagnostics]

    assert ("PPD301", "error") in tokenizer_codes("tok-nopad")
    assert [code for code, _ in tokenizer_codes("tok-pad")] == []


def test_a_script_that_imports_configparser_reads_its_other_data_as_before():
    # configparser is asked only about its own objects: a JSON round-trip and its subscripts, and
    # `os.environ.get`, beside an unused parser, read as they do without it
    text = script("import configparser, os\nunused = configparser.ConfigParser()\n" + ROUND_TRIP.replace(
        '"output_dir": "out"', '"output_dir": os.environ.get("PPODOCTOR_UNSET_DIR", "out")'))
    assert codes(text) == ["PPD205"]
    assert _setup(text).role("config").origin.keyword("output_dir").value.value == "out"

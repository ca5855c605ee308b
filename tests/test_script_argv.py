"""Argument lists the script writes itself, bound to its parser as a launch's command line is
(setup/launched.py, setup/argv.py): the values the rules and the probe see, and where the source does
not say enough, unknown with the reason."""

from __future__ import annotations

import textwrap

import pytest

from ppodoctor.api import check_source

HEAD = """\
import argparse
import sys
from dataclasses import dataclass
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, HfArgumentParser
from trl import ModelConfig, TrlParser
from trl.experimental.ppo import PPOConfig, PPOTrainer
"""
TAIL = """
rm = AutoModelForSequenceClassification.from_pretrained(REWARD, num_labels=1)
policy = AutoModelForCausalLM.from_pretrained("sft")
trainer = PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=None, model=policy, ref_model=policy,
                     reward_model=rm, value_model=rm, train_dataset=None)
"""
ARGPARSE = """\
parser = argparse.ArgumentParser()
parser.add_argument("--reward", default="default-rm")
parser.add_argument("--seed", type=int)
"""


def reward_path(part: str, reward: str):
    text = HEAD + textwrap.dedent(part) + TAIL.replace("REWARD", reward)
    return check_source(text, "train.py").setup.setups[0].role("reward").origin.path


@pytest.mark.parametrize("part", [
    ARGPARSE + 'args = parser.parse_args(["--reward", "rm-dir", "--seed", "3"])\n',
    ARGPARSE + 'args = parser.parse_args(args="--seed 3 --reward=rm-dir".split())\n',
    ARGPARSE + 'BASE = ["--seed", "3"]\nargs = parser.parse_args(BASE + ["--rew", "rm-dir"])\n',  # an abbreviation
    ARGPARSE + 'import shlex\nargs = parser.parse_args(shlex.split("--reward \'rm-dir\'"))\n',
    ARGPARSE + 'sys.argv = ["train.py", "--reward", "rm-dir"]\nargs = parser.parse_args()\n',
])
def test_an_argparse_list_in_the_script_gives_its_values(part):
    assert reward_path(part, "args.reward").value == "rm-dir"


def test_a_dataclass_parser_list_fills_fields_of_classes_the_source_does_not_show():
    part = """\
        @dataclass
        class Paths:
            reward: str = "default-rm"

        paths, training_args, model_args = HfArgumentParser((Paths, PPOConfig, ModelConfig)).parse_args_into_dataclasses(
            args=["--reward_model_path", "rm-dir", "--model_name_or_path", "sft-dir", "--output_dir", "o"])
        """
    assert reward_path(part, "training_args.reward_model_path").value == "rm-dir"
    assert reward_path(part, "model_args.model_name_or_path").value == "sft-dir"
    assert reward_path(part, "paths.reward").value == "default-rm"  # its written default, the list not naming it
    # a field the list does not name, of a class whose fields no data gives: not known
    missing = reward_path(part, "training_args.sft_model_path")
    assert missing.kind == "unknown" and "command line" in missing.reason


def test_a_trl_parser_unpacked_into_main_binds_each_parameter_to_its_instance():
    part = """\
        @dataclass
        class Paths:
            reward: str = "default-rm"

        def main(paths, model_args):
            rm = AutoModelForSequenceClassification.from_pretrained(paths.reward, num_labels=1)
            policy = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path)
            return PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=None, model=policy, ref_model=policy,
                              reward_model=rm, value_model=rm, train_dataset=None)

        main(*TrlParser((Paths, ModelConfig)).parse_args_and_config(args="--model_name_or_path sft --reward r".split()))
        """
    setup = check_source(HEAD + textwrap.dedent(part), "train.py").setup.setups[0]
    assert setup.role("reward").origin.path.value == "r" and setup.role("policy").origin.path.value == "sft"


@pytest.mark.parametrize("part, reason", [
    # a list the source does not show
    (ARGPARSE + "args = parser.parse_args(sys.argv[2:])\n", "no default"),
    # sys.argv changed in place after it is set, or set after the parse
    (ARGPARSE + 'sys.argv = ["t", "--reward", "x"]\nsys.argv += ["--reward", "y"]\nargs = parser.parse_args()\n',
     "no default"),
    (ARGPARSE + 'args = parser.parse_args()\nsys.argv = ["t", "--reward", "x"]\n', "no default"),
])
def test_what_the_source_does_not_say_is_not_guessed(part, reason):
    found = reward_path(part.replace('default="default-rm"', ""), "args.reward")
    assert found.kind == "unknown" and reason in found.reason, found


def test_a_starred_call_binds_no_default_it_cannot_see():
    # `main(*pair)` with a pair the source does not show: the parameter is unknown, not its default
    part = """\
        def main(reward="default-rm"):
            rm = AutoModelForSequenceClassification.from_pretrained(reward, num_labels=1)
            policy = AutoModelForCausalLM.from_pretrained("sft")
            return PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=None, model=policy, ref_model=policy,
                              reward_model=rm, value_model=rm, train_dataset=None)

        main(*sys.argv[1:])
        """
    setup = check_source(HEAD + textwrap.dedent(part), "train.py").setup.setups[0]
    assert setup.role("reward").origin.path.kind == "unknown"
    known = textwrap.dedent(part).replace("main(*sys.argv[1:])", 'PAIR = ("rm-dir",)\nmain(*PAIR)')
    assert check_source(HEAD + known, "train.py").setup.setups[0].role("reward").origin.path.value \
        == "rm-dir"


def test_under_a_launch_the_scripts_own_list_is_what_the_parse_reads(tmp_path):
    # The launch's words reach sys.argv, which a parse handed its own list never reads: the list's values
    # are the run's, and what the parser would refuse in the list is not the launch's refusal (PPD701).
    from ppodoctor.config import Settings
    from ppodoctor.launch.command import command_launch
    from ppodoctor.launch_check import check_launch
    from ppodoctor.trl_api.eras import Target

    (tmp_path / "train.py").write_text(HEAD + textwrap.dedent("""\
        parser = argparse.ArgumentParser()
        parser.add_argument("--reward")
        args = parser.parse_args(["--reward", "rm-dir"] + EXTRA)
        """) + TAIL.replace("REWARD", "args.reward"))
    for extra, refused in (("[]", []), ('["--bogus"]', [])):
        text = (tmp_path / "train.py").read_text().replace("EXTRA", extra)
        (tmp_path / "train.py").write_text(text)
        report = check_launch(command_launch(["python", "train.py", "--reward", "launch-dir"], tmp_path), Settings(),
                              Target.of("1.12.0"))
        assert report.setup.setups[0].role("reward").origin.path.value == "rm-dir"
        assert [d.code for d in report.diagnostics if d.code == "PPD701"] == refused
        (tmp_path / "train.py").write_text(text.replace(f"+ {extra}", "+ EXTRA"))


def test_a_list_passed_on_as_a_parameter_is_the_callers_and_none_is_sys_argv():
    part = """\
        def parse(argv=None):
            parser = argparse.ArgumentParser()
            parser.add_argument("--reward", default="default-rm")
            return parser.parse_args(argv)

        args = parse(ARGV)
        """
    assert reward_path(part.replace("ARGV", '["--reward", "rm-dir"]'), "args.reward").value == "rm-dir"
    # `parse()`: argv is None, so argparse reads sys.argv: no launch here, so the written default
    assert reward_path(part.replace("ARGV", ""), "args.reward").value == "default-rm"


def test_a_trl_parser_config_yaml_the_list_names_is_read_beside_the_script(tmp_path):
    from ppodoctor.api import check_file

    (tmp_path / "ppo.yaml").write_text("scorer: yaml-rm\n")
    (tmp_path / "train.py").write_text(HEAD + textwrap.dedent("""\
        @dataclass
        class Paths:
            scorer: str = "default-rm"

        (paths,) = TrlParser((Paths,)).parse_args_and_config(args=["--config", "ppo.yaml"])
        """) + TAIL.replace("REWARD", "paths.scorer"))
    setup = check_file(tmp_path / "train.py").setup.setups[0]
    assert setup.role("reward").origin.path.value == "yaml-rm"

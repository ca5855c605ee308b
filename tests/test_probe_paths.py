"""One resolution for the rules and the probe (issue 20): every path the setup model resolves reaches the
probe as the resolved value, so the probe builds the model instead of answering "not a literal".

One script per kind of non-literal path; each is probed for real (this interpreter, meta device) and
every role's model must be built from the fixture directory the source names. The last script's path
comes from the command line: there the probe must still say why it cannot build it."""

from __future__ import annotations

import textwrap

import pytest

from ppodoctor.api import check_source
from ppodoctor.probe import ProbeOptions, probe_files
from probe_helpers import MODELS

HEAD = """\
import argparse
from dataclasses import dataclass, field
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, HfArgumentParser
from trl.experimental.ppo import PPOConfig, PPOTrainer
"""
CALL = ("PPOTrainer(args=PPOConfig(output_dir='out', use_cpu=True), processing_class=tok, model=policy, "
        "ref_model=ref, reward_model=rm, value_model=critic, train_dataset=None)")
POLICY, RM, TOK = MODELS / "llama-causal", MODELS / "llama-rm", MODELS / "tok-pad"

SCRIPTS = {
    # an HfArgumentParser dataclass's defaults, read through the parsed instance
    "parser_dataclass": f"""
        @dataclass
        class ModelArguments:
            policy_path: str = field(default="{POLICY}")
            reward_path: str = "{RM}"

        (margs,) = HfArgumentParser(ModelArguments).parse_args_into_dataclasses()
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained(margs.policy_path)
        ref = AutoModelForCausalLM.from_pretrained(margs.policy_path)
        rm = AutoModelForSequenceClassification.from_pretrained(margs.reward_path, num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(margs.reward_path, num_labels=1)
        trainer = {CALL}
        """,
    # a `self.` attribute holding a dataclass instance, read in another method
    "self_attribute": f"""
        @dataclass
        class Paths:
            policy: str = "{POLICY}"
            reward: str = "{RM}"

        class Runner:
            def __init__(self, paths):
                self.paths = paths

            def run(self):
                tok = AutoTokenizer.from_pretrained("{TOK}")
                policy = AutoModelForCausalLM.from_pretrained(self.paths.policy)
                ref = AutoModelForCausalLM.from_pretrained(self.paths.policy)
                rm = AutoModelForSequenceClassification.from_pretrained(self.paths.reward, num_labels=1)
                critic = AutoModelForSequenceClassification.from_pretrained(self.paths.reward, num_labels=1)
                return {CALL}

        Runner(Paths()).run()
        """,
    # a helper's parameters, bound from its one call
    "helper_parameter": f"""
        def build(policy_path, reward_path):
            tok = AutoTokenizer.from_pretrained("{TOK}")
            policy = AutoModelForCausalLM.from_pretrained(policy_path)
            ref = AutoModelForCausalLM.from_pretrained(policy_path)
            rm = AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)
            critic = AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)
            return {CALL}

        build("{POLICY}", "{RM}")
        """,
    # argparse defaults
    "argparse_default": f"""
        parser = argparse.ArgumentParser()
        parser.add_argument("--policy", default="{POLICY}")
        parser.add_argument("--reward", default="{RM}")
        args = parser.parse_args()
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained(args.policy)
        ref = AutoModelForCausalLM.from_pretrained(args.policy)
        rm = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
        trainer = {CALL}
        """,
    # a path read off another model, and a config written to JSON and read back
    "derived_and_data": f"""
        import json
        json.dump({{"reward": "{RM}"}}, open("paths.json", "w"))
        paths = json.load(open("paths.json"))
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained("{POLICY}")
        ref = AutoModelForCausalLM.from_pretrained(policy.config._name_or_path)
        rm = AutoModelForSequenceClassification.from_pretrained(**{{"pretrained_model_name_or_path": paths["reward"]}},
                                                                num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(rm.config._name_or_path, num_labels=1)
        trainer = {CALL}
        """,
    # an argument list the script hands argparse itself
    "argparse_list": f"""
        parser = argparse.ArgumentParser()
        parser.add_argument("--policy")
        parser.add_argument("--reward", required=True)
        args = parser.parse_args(["--policy", "{POLICY}", "--reward={RM}"])
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained(args.policy)
        ref = AutoModelForCausalLM.from_pretrained(args.policy)
        rm = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
        trainer = {CALL}
        """,
    # `sys.argv` set by the script before main() parses it (the launch it stands for, written down)
    "sys_argv_assigned": f"""
        import sys

        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--policy")
            parser.add_argument("--reward")
            args = parser.parse_args()
            tok = AutoTokenizer.from_pretrained("{TOK}")
            policy = AutoModelForCausalLM.from_pretrained(args.policy)
            ref = AutoModelForCausalLM.from_pretrained(args.policy)
            rm = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
            critic = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
            return {CALL}

        if __name__ == "__main__":
            sys.argv = ["train.py", "--policy", "{POLICY}", "--reward", "{RM}"]
            main()
        """,
    # HfArgumentParser over a dataclass of the script and TRL's PPOConfig, with the script's own list:
    # PPOConfig's reward_model_path / sft_model_path are fields of a class the source does not show
    "hf_parser_list": f"""
        @dataclass
        class ModelArguments:
            policy_path: str = field(default="elsewhere")

        LAUNCH = ["--policy_path", "{POLICY}", "--sft_model_path", "{POLICY}", "--reward_model_path", "{RM}",
                  "--output_dir", "out"]
        margs, training_args = HfArgumentParser((ModelArguments, PPOConfig)).parse_args_into_dataclasses(args=LAUNCH)
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained(margs.policy_path)
        ref = AutoModelForCausalLM.from_pretrained(training_args.sft_model_path)
        rm = AutoModelForSequenceClassification.from_pretrained(training_args.reward_model_path, num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(training_args.reward_model_path, num_labels=1)
        trainer = {CALL}
        """,
    # TrlParser with an argument text split in the script, its instances unpacked into main()'s parameters
    "trl_parser_list": f"""
        from trl import ModelConfig, TrlParser

        @dataclass
        class PathArguments:
            scorer_path: str = "{RM}"

        def main(paths, model_args):
            tok = AutoTokenizer.from_pretrained("{TOK}")
            policy = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path)
            ref = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path)
            rm = AutoModelForSequenceClassification.from_pretrained(paths.scorer_path, num_labels=1)
            critic = AutoModelForSequenceClassification.from_pretrained(paths.scorer_path, num_labels=1)
            return {CALL}

        ARGV = "--model_name_or_path {POLICY} --trust_remote_code false".split()
        main(*TrlParser((PathArguments, ModelConfig)).parse_args_and_config(args=ARGV))
        """,
    # an INI text read with configparser: sections, the DEFAULT section, interpolation, get/getint
    "configparser": f"""
        import configparser

        SETTINGS = \"\"\"
        [DEFAULT]
        root = {MODELS}

        [models]
        policy = %(root)s/llama-causal
        reward = %(root)s/llama-rm
        \"\"\"
        cp = configparser.ConfigParser()
        cp.read_string(SETTINGS)
        paths = cp["models"]
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained(paths["policy"])
        ref = AutoModelForCausalLM.from_pretrained(cp.get("models", "policy"))
        rm = AutoModelForSequenceClassification.from_pretrained(cp["models"]["reward"], num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(paths.get("reward", "elsewhere"), num_labels=1)
        trainer = {CALL}
        """,
    # nothing in the source says the path: it comes from the command line
    "from_argv": f"""
        import sys
        tok = AutoTokenizer.from_pretrained("{TOK}")
        policy = AutoModelForCausalLM.from_pretrained("{POLICY}")
        ref = AutoModelForCausalLM.from_pretrained("{POLICY}")
        rm = AutoModelForSequenceClassification.from_pretrained(sys.argv[1], num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained("{RM}", num_labels=1)
        trainer = {CALL}
        """,
}
ROLES = ("policy", "reference", "reward", "value")


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    reports = {name: check_source(HEAD + textwrap.dedent(text), f"{name}.py") for name, text in SCRIPTS.items()}
    results = probe_files([reports[name].setup for name in SCRIPTS],
                          ProbeOptions(cwd=str(tmp_path_factory.mktemp("cwd"))))
    return {name: result for name, result in zip(SCRIPTS, results)}


@pytest.mark.parametrize("name", [name for name in SCRIPTS if name != "from_argv"])
def test_the_probe_builds_what_the_setup_model_resolves(probed, name):
    result = probed[name]
    assert result.ok, result.reason
    facts = result.setup_facts(0)
    assert facts is not None
    built = {role: facts.model(role) for role in ROLES}
    assert all(model.built for model in built.values()), {r: m.reason for r, m in built.items() if not m.built}
    assert built["policy"].source == str(POLICY) and built["reward"].source == str(RM)


def test_a_path_from_the_command_line_is_the_one_the_probe_cannot_build(probed):
    facts = probed["from_argv"].setup_facts(0)
    reward = facts.model("reward")
    assert not reward.built and "not a literal" in reward.reason
    assert facts.model("value").built

"""`ppodoctor check` of a launch: the launch's argv bound to the script's parser, its world size and
DeepSpeed JSON in the rules, findings that name the launch. Real libcst, click, bashlex and PyYAML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ppodoctor.cli import main
from ppodoctor.launch.command import command_launch
from ppodoctor.launch_check import check_launch
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target

TARGET = Target.of("1.12.0")

HF_SCRIPT = """
from dataclasses import dataclass
from datasets import Dataset
from transformers import HfArgumentParser
from trl.experimental.ppo import PPOConfig, PPOTrainer


@dataclass
class ScriptArguments:
    models: str = "models"
    rows: int = 4
    use_peft: bool = False


parser = HfArgumentParser((ScriptArguments, PPOConfig))
script_args, config = parser.parse_args_into_dataclasses()
dataset = Dataset.from_dict({"input_ids": [[5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16], [17, 18],
                                          [19, 20]]})
trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=dataset)
"""

ARGPARSE_SCRIPT = """
import argparse
from datasets import Dataset
from trl.experimental.ppo import PPOConfig, PPOTrainer

parser = argparse.ArgumentParser()
parser.add_argument("--per_device_train_batch_size", "-b", type=int, default=2)
parser.add_argument("--num_mini_batches", type=int, default=1)
parser.add_argument("--whiten", action="store_true")
parser.add_argument("--lrs", type=float, nargs="+", default=[1e-5])
parser.add_argument("--lr", type=float, default=1e-5)
args = parser.parse_args()
dataset = Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10]]})
config = PPOConfig(output_dir="out", per_device_train_batch_size=args.per_device_train_batch_size,
                   num_mini_batches=args.num_mini_batches, whiten_rewards=args.whiten, learning_rate=args.lr)
trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=dataset)
"""


def _script(folder: Path, text: str, name: str = "train.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _codes(report, precision: bool = False) -> list[str]:
    """The codes found; PPD703 (precision) only when asked: these scripts keep PPOConfig's bf16 default."""
    assert report.error is None, report.error
    return sorted(d.code for d in report.diagnostics if precision or d.code != "PPD703")


def _message(report, code: str) -> str:
    (found,) = [d.message for d in report.diagnostics if d.code == code]
    return found


def _launch(folder: Path, *words: str):
    return check_launch(command_launch(list(words), folder), Settings(), TARGET)


def _config(report):
    return report.setup.setups[0].role("config").origin


def test_hfargumentparser_fields_take_the_launchs_values(tmp_path):
    _script(tmp_path, HF_SCRIPT)
    report = _launch(tmp_path, "accelerate", "launch", "--cpu", "train.py", "--per_device_train_batch_size", "4",
                     "--num-mini-batches", "2", "--whiten_rewards", "--rows", "2")
    origin = _config(report)
    assert origin.kind == "parsed_args" and not origin.partial
    given = {k.name: k.value.value for k in origin.keywords}
    assert given == {"per_device_train_batch_size": 4, "num_mini_batches": 2, "whiten_rewards": True}
    # whiten_rewards with a per-rank mini-batch of 4 // 2 = 2 < 8: TRL's assertion, found from the launch
    assert _codes(report) == ["PPD401"]
    assert "[launch: the command line]" in _message(report, "PPD401")


def test_the_file_alone_is_not_judged_by_the_parsers_defaults(tmp_path):
    path = _script(tmp_path, HF_SCRIPT)
    result = CliRunner().invoke(main, ["check", "--select", "PPD4,PPD7", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # one process with PPOConfig's defaults (8 per device, 1 mini-batch) and 8 rows: fine
    assert _codes(_launch(tmp_path, "python", "train.py")) == []
    # two: each rank needs its own 8 rows
    two = _launch(tmp_path, "torchrun", "--nproc_per_node", "2", "train.py")
    assert _codes(two) == ["PPD405"]
    assert "sharded over the launch's 2 processes" in _message(two, "PPD405")


def test_argparse_values_types_flags_and_nargs(tmp_path):
    _script(tmp_path, ARGPARSE_SCRIPT)
    report = _launch(tmp_path, "python", "train.py", "-b", "1", "--num_mini_batches=2", "--lrs", "2e-5", "3e-5",
                     "--lr", "2e-5")
    values = {k.name: k.value.value for k in _config(report).keywords}
    assert values["per_device_train_batch_size"] == 1 and values["num_mini_batches"] == 2
    assert values["whiten_rewards"] is False and values["learning_rate"] == 2e-5
    assert _codes(report) == ["PPD401"]
    assert _codes(_launch(tmp_path, "python", "train.py")) == []  # its defaults: 2 per device, 1 mini-batch
    # a prefix names an option (argparse's allow_abbrev); store_true with whitening and a mini-batch < 8
    whiten = _launch(tmp_path, "python", "train.py", "--per_device", "2", "--whiten")
    assert _codes(whiten) == ["PPD401"] and "whiten_rewards=True" in _message(whiten, "PPD401")


@pytest.mark.parametrize("words, error", [
    (("--bogus", "1"), "unrecognized arguments: --bogus 1"),
    (("--num_mini_batches", "two"), "argument --num_mini_batches: invalid int value: 'two'"),
    (("--lrs",), "argument --lrs: expected at least one argument"),
])
def test_what_argparse_refuses_is_a_finding_in_its_words(tmp_path, words, error):
    _script(tmp_path, ARGPARSE_SCRIPT)
    report = _launch(tmp_path, "python", "train.py", *words)
    refused = [d for d in report.diagnostics if d.code == "PPD701"]
    assert len(refused) == 1 and f"`{error}`" in refused[0].message
    assert refused[0].span.line == 11  # the parse_args() call


def test_what_hfargumentparser_refuses(tmp_path):
    _script(tmp_path, HF_SCRIPT)
    report = _launch(tmp_path, "python", "train.py", "--per_device_train_batch_sise", "4", "--use_peft", "maybe")
    messages = [d.message for d in report.diagnostics if d.code == "PPD701"]
    assert any("Some specified arguments are not used by the HfArgumentParser: "
               "['--per_device_train_batch_sise', '4']" in m for m in messages), messages
    assert any("Truthy value expected: got maybe" in m for m in messages), messages
    # bool fields: `--flag` alone, a truthy word, `--no_flag` for those that default to True
    assert _codes(_launch(tmp_path, "python", "train.py", "--use_peft", "--gradient_checkpointing", "false")) == []


def test_a_parser_with_a_dataclass_no_data_describes_is_not_accused(tmp_path):
    _script(tmp_path, HF_SCRIPT.replace("from transformers import HfArgumentParser",
                                        "from transformers import HfArgumentParser\nfrom trl import ModelConfig")
            .replace("(ScriptArguments, PPOConfig)", "(ScriptArguments, PPOConfig, ModelConfig)")
            .replace("script_args, config =", "script_args, config, model_args ="))
    report = _launch(tmp_path, "python", "train.py", "--model_name_or_path", "m", "--per_device_train_batch_size", "3",
                     "--num_mini_batches", "2")
    assert _codes(report) == ["PPD401"]  # ModelConfig's --model_name_or_path is not refused


def test_unexpanded_words_are_unknown_not_refused(tmp_path):
    _script(tmp_path, ARGPARSE_SCRIPT)
    report = _launch(tmp_path, "python", "train.py", "--num_mini_batches", "$MINI")
    assert _codes(report) == []
    value = next(k.value for k in _config(report).keywords if k.name == "num_mini_batches")
    assert value.kind == "unknown" and "$MINI" in value.reason


def test_a_shell_launcher_checks_each_launch_and_points_at_its_line(tmp_path, monkeypatch):
    monkeypatch.delenv("BATCH", raising=False)
    _script(tmp_path, HF_SCRIPT)
    launcher = tmp_path / "run_ppo.sh"
    launcher.write_text("#!/bin/bash\nBATCH=${BATCH:-3}\n"
                        "torchrun --nproc_per_node 1 train.py \\\n  --per_device_train_batch_size $BATCH "
                        "--num_mini_batches 2\n"
                        "python train.py --per_device_train_batch_size 4 --num_mini_batches 2\n")
    result = CliRunner().invoke(main, ["check", "--output-format", "json", str(launcher)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    found = json.loads(result.output)
    entries = [e for e in found if e["code"] == "PPD401"]
    assert len(entries) == 1, found
    assert entries[0]["message"].endswith(f"[launch: {launcher}:3]")
    assert "3 is not a multiple of num_mini_batches=2" in entries[0]["message"]
    monkeypatch.setenv("BATCH", "2")  # `BATCH=2 ppodoctor check run_ppo.sh`: the shell would read it too
    again = CliRunner().invoke(main, ["check", "--select", "PPD4", str(launcher)], catch_exceptions=False)
    assert again.exit_code == 0, again.output


def test_the_launch_line_is_a_related_location(tmp_path):
    _script(tmp_path, HF_SCRIPT)
    launcher = tmp_path / "run.sh"
    launcher.write_text("python train.py --per_device_train_batch_size 3 --num_mini_batches 2\n")
    result = CliRunner().invoke(main, ["check", "--select", "PPD401", str(launcher)], catch_exceptions=False)
    assert re.search(rf"{re.escape(str(launcher))}:1:1: launched here: python train.py", result.output), result.output


def test_check_dash_dash_a_launch_command(tmp_path, monkeypatch):
    _script(tmp_path, HF_SCRIPT)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--select", "PPD401", "--", "accelerate", "launch", "--num_processes",
                                       "2", "train.py", "--per_device_train_batch_size", "3", "--num_mini_batches",
                                       "2"], catch_exceptions=False)
    assert result.exit_code == 1 and "[launch: the command line]" in result.output, result.output
    refused = CliRunner().invoke(main, ["check", "--fix", "--", "torchrun", "train.py"])
    assert refused.exit_code == 2 and "name the script" in refused.output


@pytest.mark.parametrize("words, found", [
    (("torchrun", "--nproc_per_node", "2", "train.py", "--deepspeed", "ds.json"), True),
    (("python", "train.py", "--deepspeed=ds.json"), True),
    (("accelerate", "launch", "--use_deepspeed", "--deepspeed_config_file", "ds.json", "train.py"), False),
    (("torchrun", "train.py"), False),
])
def test_a_deepspeed_json_handed_to_ppoconfig(tmp_path, words, found):
    _script(tmp_path, HF_SCRIPT)
    (tmp_path / "ds.json").write_text(json.dumps({"train_micro_batch_size_per_gpu": "auto",
                                                  "zero_optimization": {"stage": 2}}))
    report = _launch(tmp_path, *words)
    messages = [d.message for d in report.diagnostics if d.code == "PPD702"]
    assert len(messages) == int(found), messages
    if found:
        assert "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'" in messages[0]
        assert "--use_deepspeed --deepspeed_config_file" in messages[0]


def test_a_deepspeed_json_written_in_the_script(tmp_path):
    _script(tmp_path, ARGPARSE_SCRIPT.replace('output_dir="out",', 'output_dir="out", deepspeed="ds.json",'))
    assert "PPD702" in _codes(_launch(tmp_path, "python", "train.py"))


def test_plain_check_keeps_its_cold_start():
    """`check file.py` imports neither the launch readers nor bashlex or PyYAML."""
    code = ("import sys; from ppodoctor.cli import main\n"
            "try:\n    main(['check', '--no-probe', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bashlex', 'yaml')"
            " or m.startswith(('ppodoctor.launch.command', 'ppodoctor.launch.shell', 'ppodoctor.launch_check'))))")
    script = Path(__file__).parent.parent / "benchmarks" / "cold_start.py"
    done = subprocess.run([sys.executable, "-c", code, str(script)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_nargs_and_positionals_bind_as_argparse_binds_them():
    from ppodoctor.setup.argv import OptionSpec, bind

    specs = [OptionSpec("lrs", ("--lrs",), "float", "+"), OptionSpec("pair", ("--pair",), "int", "2"),
             OptionSpec("data", (), "str")]
    bound = bind(specs, ("data.json", "--lrs", "1e-5", "2e-5", "--pair", "1", "2"), True, "L")
    assert {dest: value.value for _owner, dest, value in bound.values} == \
        {"data": "data.json", "lrs": (1e-5, 2e-5), "pair": (1, 2)}
    assert bound.errors == ()
    short = bind(specs, ("--pair", "1"), True, "L")
    assert short.errors == ("argument --pair: expected 2 arguments",)


@pytest.mark.parametrize("words, expected", [
    (("python", "train.py"), "it trains with no mixed precision"),  # bf16 defaults to True (not fp16)
    (("accelerate", "launch", "--cpu", "--mixed_precision", "fp16", "train.py"), "mixed_precision=fp16"),
    (("accelerate", "launch", "--cpu", "--mixed_precision", "no", "train.py", "--bf16", "false", "--fp16", "true"),
     "PPOConfig asks for fp16"),
    (("accelerate", "launch", "--cpu", "--mixed_precision", "bf16", "train.py"), None),
    (("torchrun", "train.py", "--bf16", "false"), None),
    (("deepspeed", "--num_gpus", "2", "train.py"), None),
])
def test_the_precision_ppo_trains_in_is_the_launchs(tmp_path, words, expected):
    _script(tmp_path, HF_SCRIPT)
    report = _launch(tmp_path, *words)
    found = [d.message for d in report.diagnostics if d.code == "PPD703"]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


TRL_PARSER_SCRIPT = """
from datasets import Dataset
from trl import ModelConfig, ScriptArguments, TrlParser
from trl.experimental.ppo import PPOConfig, PPOTrainer

parser = TrlParser((ScriptArguments, PPOConfig, ModelConfig))
script_args, training_args, model_args = parser.parse_args_and_config()
dataset = Dataset.from_dict({"input_ids": [[5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16], [17, 18], [19, 20]]})
trainer = PPOTrainer(args=training_args, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=dataset)
"""


def test_a_trlparser_config_yaml_sets_defaults_the_command_line_overrides(tmp_path):
    _script(tmp_path, TRL_PARSER_SCRIPT)
    (tmp_path / "ppo.yaml").write_text("per_device_train_batch_size: 3\nnum_mini_batches: 2\nmodel_name_or_path: m\n"
                                       "env:\n  WANDB_MODE: offline\n")
    launcher = tmp_path / "run.sh"
    launcher.write_text("accelerate launch --num_processes 1 train.py --config ppo.yaml\n"
                        "accelerate launch --num_processes 1 train.py --config ppo.yaml --per_device_train_batch_size 2\n"
                        "accelerate launch --num_processes 1 train.py --config missing.yaml\n")
    from ppodoctor.launch.shell import read_launcher

    reports = [check_launch(launch, Settings(), TARGET) for launch in read_launcher(launcher)]
    assert [_codes(report) for report in reports] == [["PPD401"], [], []]
    given = {k.name: (k.value.value, k.value.text) for k in _config(reports[0]).keywords}
    assert given["per_device_train_batch_size"] == (3, "per_device_train_batch_size: 3 (ppo.yaml)")
    assert {k.name: k.value.value for k in _config(reports[1]).keywords}["per_device_train_batch_size"] == 2
    assert _config(reports[2]).partial  # a YAML that cannot be read: the values stay unknown

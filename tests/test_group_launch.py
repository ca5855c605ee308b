"""PPD601 at the launch's world size: RLOO/GRPO scripts whose generation batch holds whole groups on one
number of processes and not on another, judged by `check` of the launch (torchrun, accelerate, a shell
launcher), and run for real in trl 1.16 on two CPU ranks (gloo, `ACCELERATE_USE_CPU=true torchrun
--nproc_per_node 2`, as tests/test_launch_runs.py does for PPO).

Measured: per-device batch 1 with `num_generations=2` fails alone ("generation_batch_size (1) must be
divisible by num_generations (2).") and trains on two ranks; a written `generation_batch_size=2` with a
per-device batch of 2 trains alone and fails on two ("generation_batch_size (2) must be divisible by the
global batch size (4).").
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.launch.command import command_launch
from ppodoctor.launch.shell import read_launcher
from ppodoctor.launch_check import check_launch
from ppodoctor.rules import find_rule
from ppodoctor.trl_api.eras import Target
from test_launch_runs import _run

TARGET = Target.of("1.16.0")

SCRIPT = """
from datasets import Dataset
from transformers import AutoTokenizer
from trl import {kind}Config, {kind}Trainer

tokenizer = AutoTokenizer.from_pretrained("models/policy", padding_side="left")
dataset = Dataset.from_dict({{"prompt": ["a b c", "d e f", "g h i", "j k l"]}})


def length_reward(completions, **kwargs):
    return [float(len(completion)) for completion in completions]


config = {kind}Config(output_dir="out", {batch}, max_steps=1, max_completion_length=4, use_cpu=True,
                    report_to="none", save_strategy="no")
trainer = {kind}Trainer(model="models/policy", reward_funcs=length_reward, args=config, train_dataset=dataset,
                      processing_class=tokenizer)
trainer.train()
print("TRAINED", trainer.accelerator.process_index, "of", trainer.accelerator.num_processes)
"""
# Fails alone, trains on two ranks (and fails on three: 3 is odd).
PER_RANK_ONE = "per_device_train_batch_size=1, num_generations=2"
# Trains alone, fails on two ranks: the written generation batch is smaller than the global batch.
WRITTEN_BATCH = "per_device_train_batch_size=2, generation_batch_size=2, num_generations=2"


def _write(folder: Path, batch: str, kind: str = "GRPO") -> Path:
    path = folder / "train.py"
    path.write_text(textwrap.dedent(SCRIPT.format(kind=kind, batch=batch)).lstrip())
    return path


def _findings(folder: Path, *launch: str) -> list:
    """PPD601's findings on train.py: the file alone (no launch words), or under the launch."""
    if not launch:
        report = check_source((folder / "train.py").read_text(), "train.py", target=TARGET)
    else:
        report = check_launch(command_launch(list(launch), folder), Settings(), TARGET)
    assert report.error is None, report.error
    return [d for d in report.diagnostics if d.code == "PPD601"]


@pytest.mark.parametrize("kind", ["GRPO", "RLOO"])
def test_the_launchs_world_size_decides(kind, tmp_path):
    _write(tmp_path, PER_RANK_ONE, kind)
    (alone,) = _findings(tmp_path)
    assert "1 process, assumed" in alone.message and "generation batch is 1" in alone.message
    assert _findings(tmp_path, "torchrun", "--nproc_per_node", "2", "train.py") == []
    assert _findings(tmp_path, "accelerate", "launch", "--num_processes", "4", "train.py") == []
    (three,) = _findings(tmp_path, "accelerate", "launch", "--num_processes", "3", "train.py")
    assert "generation batch is 3" in three.message and "× 3 processes of the launch" in three.message
    assert "generation_batch_size (3) must be divisible by num_generations (2)" in three.message
    assert "[launch: the command line]" in three.message
    (two_nodes,) = _findings(tmp_path, "torchrun", "--nnodes", "3", "--nproc_per_node", "1", "train.py")
    assert "× 3 processes" in two_nodes.message


def test_a_written_generation_batch_smaller_than_the_global_batch(tmp_path):
    _write(tmp_path, WRITTEN_BATCH)
    assert _findings(tmp_path) == []
    assert _findings(tmp_path, "python", "train.py") == []
    (two,) = _findings(tmp_path, "torchrun", "--nproc_per_node", "2", "train.py")
    assert "generation_batch_size (2) must be divisible by the global batch size (4)" in two.message
    assert two.subject == "generation_batch_size"
    assert any(re.search(known.pattern, two.message) for known in find_rule("PPD601").known_errors)
    # its fix: the next multiple of the global batch (and of num_generations) for that world size
    assert two.fix is not None and two.fix.param("value") == 4 and "for 2 processes" in two.fix.title


def test_a_launch_that_does_not_say_its_world_size_is_not_judged(tmp_path):
    _write(tmp_path, PER_RANK_ONE)
    # one process per GPU, counted at run time: more processes may make the batch divide
    assert _findings(tmp_path, "torchrun", "--nproc_per_node", "gpu", "train.py") == []


def test_a_shell_launcher_is_judged_at_its_world_size(tmp_path):
    _write(tmp_path, WRITTEN_BATCH)
    (tmp_path / "run.sh").write_text("#!/bin/bash\nexport ACCELERATE_USE_CPU=true\nNPROC=${NPROC:-2}\n"
                                     "torchrun --nproc_per_node $NPROC train.py\n")
    (launch,) = read_launcher(tmp_path / "run.sh")
    (found,) = [d for d in check_launch(launch, Settings(), TARGET).diagnostics if d.code == "PPD601"]
    assert "global batch size (4)" in found.message and found.related[-1].span.file.endswith("run.sh")


# --- the runs ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torchrun_python(python116: str) -> str:
    """conftest's trl 1.16 interpreter, with torchrun beside it."""
    if not (Path(python116).parent / "torchrun").exists():
        pytest.skip("no torchrun beside the trl 1.16 interpreter")
    return python116


@pytest.fixture(scope="module")
def models(models116: Path) -> Path:
    return models116


def _torchrun(python: str, folder: Path, ranks: int) -> tuple[int, str]:
    bin_dir = Path(python).parent
    return _run([str(bin_dir / "torchrun"), "--nproc_per_node", str(ranks), "train.py"], folder, 300,
                PATH=f"{bin_dir}:/usr/bin:/bin")


def test_two_cpu_ranks_fail_and_train_as_the_findings_say(torchrun_python, models, tmp_path):
    (tmp_path / "models").symlink_to(models, target_is_directory=True)
    known = find_rule("PPD601").known_errors
    # fine alone (no finding for the file), found for two ranks, and two ranks fail with that error
    _write(tmp_path, WRITTEN_BATCH)
    assert _findings(tmp_path) == [] and len(_findings(tmp_path, "torchrun", "--nproc_per_node", "2", "train.py")) == 1
    status, output = _torchrun(torchrun_python, tmp_path, 2)
    assert status not in (0, 124), output[-3000:]
    assert "ValueError: generation_batch_size (2) must be divisible by the global batch size (4)." in output
    assert any(re.search(k.pattern, output) for k in known), output[-3000:]
    # the other way round: found for the file alone, not for two ranks, which train
    _write(tmp_path, PER_RANK_ONE)
    assert len(_findings(tmp_path)) == 1 and _findings(tmp_path, "torchrun", "--nproc_per_node", "2", "train.py") == []
    status, output = _torchrun(torchrun_python, tmp_path, 2)
    assert status == 0, output[-3000:]
    # both ranks (their lines may interleave with the other rank's progress bar)
    assert output.count("TRAINED") == 2 and output.count(" of 2\n") == 2, output[-3000:]
    status, output = _torchrun(torchrun_python, tmp_path, 1)
    assert status not in (0, 124) and "generation_batch_size (1) must be divisible by num_generations (2)." in output


# --- TRL's own script style: the config is the parser's, every value the launch's ------------------
PARSED_SCRIPT = """
from datasets import Dataset
from transformers import AutoTokenizer
from trl import GRPOConfig, GRPOTrainer, TrlParser


def length_reward(completions, **kwargs):
    return [float(len(completion)) for completion in completions]


def main(training_args):
    tokenizer = AutoTokenizer.from_pretrained("models/policy", padding_side="left")
    dataset = Dataset.from_dict({"prompt": ["a b c", "d e f", "g h i", "j k l"]})
    trainer = GRPOTrainer(model="models/policy", reward_funcs=length_reward, args=training_args,
                          train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    print("TRAINED", trainer.accelerator.process_index, "of", trainer.accelerator.num_processes)


if __name__ == "__main__":
    (training_args,) = TrlParser((GRPOConfig,)).parse_args_and_config()
    main(training_args)
"""
PARSED_ARGS = ("--output_dir", "out", "--max_steps", "1", "--max_completion_length", "4", "--use_cpu", "true",
               "--report_to", "none", "--save_strategy", "no")


def _parsed_launch(folder: Path, ranks: int, per_device: int, generations: int) -> list[str]:
    (folder / "train.py").write_text(textwrap.dedent(PARSED_SCRIPT).lstrip())
    return ["torchrun", "--nproc_per_node", str(ranks), "train.py", *PARSED_ARGS,
            "--per_device_train_batch_size", str(per_device), "--num_generations", str(generations)]


def test_a_parsed_config_is_judged_with_the_launchs_values(tmp_path):
    assert _findings(tmp_path, *_parsed_launch(tmp_path, 2, 2, 4)) == []
    (found,) = _findings(tmp_path, *_parsed_launch(tmp_path, 3, 2, 4))
    assert "generation batch is 6" in found.message and "num_generations (4)" in found.message
    # the values are the launch's: nothing in the file to edit
    assert found.fix is None
    (found,) = _findings(tmp_path, *_parsed_launch(tmp_path, 2, 1, 4))
    assert "generation batch is 2" in found.message
    assert _findings(tmp_path) == []  # the file alone: its values are not known


def test_a_parsed_config_fails_and_trains_as_the_launch_says(torchrun_python, models, tmp_path):
    (tmp_path / "models").symlink_to(models, target_is_directory=True)
    bin_dir = Path(torchrun_python).parent
    launch = _parsed_launch(tmp_path, 2, 1, 4)
    assert len(_findings(tmp_path, *launch)) == 1
    status, output = _run([str(bin_dir / launch[0]), *launch[1:]], tmp_path, 300, PATH=f"{bin_dir}:/usr/bin:/bin")
    assert status not in (0, 124) and "generation_batch_size (2) must be divisible by num_generations (4)." in output, \
        output[-3000:]
    launch = _parsed_launch(tmp_path, 2, 2, 4)
    assert _findings(tmp_path, *launch) == []
    status, output = _run([str(bin_dir / launch[0]), *launch[1:]], tmp_path, 300, PATH=f"{bin_dir}:/usr/bin:/bin")
    assert status == 0 and output.count("TRAINED") == 2, output[-3000:]

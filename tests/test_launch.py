"""The launch model: command lines and shell launchers (real bashlex, real PyYAML) → Launch records."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ppodoctor.launch.command import NotALaunch, command_launch
from ppodoctor.launch.shell import ShellError, read_launcher
from ppodoctor.launch.model import Launcher, dumps, loads


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def zero(tmp_path):
    _write(tmp_path, "ds_zero2.json", json.dumps({
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": 4, "bf16": {"enabled": "auto"},
        "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}}))
    _write(tmp_path, "ds_zero3.json", json.dumps({"zero_optimization": {"stage": 3, "offload_param": {"device": "nvme"}}}))
    _write(tmp_path, "zero2.yaml", """
        compute_environment: LOCAL_MACHINE
        distributed_type: DEEPSPEED
        deepspeed_config:
          deepspeed_config_file: ds_zero2.json
        mixed_precision: bf16
        num_machines: 2
        num_processes: 16
        """)
    _write(tmp_path, "inline3.yaml", """
        distributed_type: DEEPSPEED
        deepspeed_config:
          zero_stage: 3
          offload_optimizer_device: cpu
          gradient_accumulation_steps: 2
        mixed_precision: fp16
        num_processes: 4
        """)
    return tmp_path


def test_accelerate_reads_its_yaml_and_the_deepspeed_json_it_names(zero):
    launch = command_launch(["accelerate", "launch", "--config_file", str(zero / "zero2.yaml"), "train.py",
                             "--per_device_train_batch_size", "4"], zero)
    assert launch.launcher is Launcher.ACCELERATE
    assert launch.script == str(zero / "train.py") and launch.script_argv == ("--per_device_train_batch_size", "4")
    # accelerate's num_processes is the total over machines (nproc_per_node = num_processes // num_machines)
    assert (launch.world_size, launch.num_machines, launch.mixed_precision) == (16, 2, "bf16")
    deepspeed = launch.deepspeed
    assert deepspeed.source == str(zero / "ds_zero2.json")
    assert (deepspeed.zero_stage, deepspeed.offload_optimizer, deepspeed.offload_param) == (2, "cpu", "")
    assert set(deepspeed.auto) == {"train_micro_batch_size_per_gpu", "bf16.enabled"}
    assert loads(dumps(launch)) == launch


def test_the_command_line_overrides_the_yaml_and_inline_deepspeed_settings_count(zero):
    launch = command_launch(["python", "-m", "accelerate.commands.launch", "--config_file=inline3.yaml",
                             "--num_processes", "2", "--mixed_precision", "no", "train.py"], zero)
    assert (launch.world_size, launch.mixed_precision) == (2, "no")
    assert launch.deepspeed.source.startswith("accelerate:")
    assert (launch.deepspeed.zero_stage, launch.deepspeed.offload_optimizer) == (3, "cpu")
    assert launch.deepspeed.value("gradient_accumulation_steps") == 2


@pytest.mark.parametrize("words, world, machines", [
    (["torchrun", "--nnodes", "2", "--nproc-per-node=4", "t.py"], 8, 2),
    (["torchrun", "--standalone", "--nproc_per_node", "2", "t.py", "--x"], 2, 1),
    (["python", "-m", "torch.distributed.run", "t.py"], 1, 1),
    (["deepspeed", "--num_gpus", "8", "--num_nodes", "2", "t.py"], 16, 2),
    (["python3", "-u", "t.py", "--lr", "1e-5"], 1, 1),
    (["accelerate", "launch", "--cpu", "t.py"], 1, None),
])
def test_world_sizes(tmp_path, monkeypatch, words, world, machines):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no default accelerate config
    launch = command_launch(words, tmp_path)
    assert launch.script == str(tmp_path / "t.py")
    assert launch.world_size == world and launch.unknown("world size") is None
    if machines is not None:
        assert launch.num_machines == machines


def test_unknown_world_sizes_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    for words in (["accelerate", "launch", "t.py"], ["deepspeed", "t.py"], ["torchrun", "--nnodes", "1:4", "t.py"]):
        launch = command_launch(words, tmp_path)
        assert launch.world_size is None and launch.unknown("world size"), words


def test_default_accelerate_config_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    _write(tmp_path, "accelerate/default_config.yaml", "num_processes: 3\nmixed_precision: fp16\n") \
        if (tmp_path / "accelerate").mkdir() is None else None
    launch = command_launch(["accelerate", "launch", "t.py"], tmp_path)
    assert (launch.world_size, launch.mixed_precision) == (3, "fp16")


def test_a_deepspeed_json_named_in_the_scripts_arguments(zero):
    launch = command_launch(["torchrun", "--nproc_per_node", "2", "t.py", "--deepspeed", "ds_zero3.json"], zero)
    assert (launch.deepspeed.zero_stage, launch.deepspeed.offload_param) == (3, "nvme")
    broken = command_launch(["torchrun", "t.py", "--deepspeed=missing.json"], zero)
    assert broken.deepspeed is None and "cannot read" in broken.unknown("deepspeed config")


def test_not_a_launch():
    for words in (["echo", "hi"], ["python", "-m", "pip", "install", "x"], ["accelerate", "config"], []):
        with pytest.raises(NotALaunch):
            command_launch(words)


def test_shell_launcher_variables_defaults_continuations_and_lines(zero, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(zero))
    monkeypatch.delenv("SEED", raising=False)
    monkeypatch.delenv("NP", raising=False)
    path = _write(zero, "run_ppo.sh", """
        #!/bin/bash
        set -e
        NP=${NP:-4}
        MODEL="models/tiny llama"
        export ACCELERATE_USE_CPU=true
        OUT=runs/$NP
        accelerate launch --config_file zero2.yaml --num_processes $NP \\
            train_ppo.py --model "$MODEL" --output_dir ${OUT} \\
            --per_device_train_batch_size 4 --seed $SEED
        for i in 1 2; do torchrun --nproc_per_node 2 train_ppo.py --seed $i; done
        CUDA_VISIBLE_DEVICES=0 python train_ppo.py --lr '1e-5' && echo done
        echo "$(date)"
        """)
    first, second, third = read_launcher(path)
    assert first.source.file == str(path) and first.source.line == 7
    assert first.source.text.startswith("accelerate launch --config_file zero2.yaml --num_processes $NP train_ppo.py")
    assert first.script == str(zero / "train_ppo.py")
    assert first.script_argv == ("--model", "models/tiny llama", "--output_dir", "runs/4",
                                 "--per_device_train_batch_size", "4", "--seed", "$SEED")
    assert first.world_size == 4 and first.deepspeed.zero_stage == 2
    assert dict(first.env) == {"ACCELERATE_USE_CPU": "true"}
    assert "neither in the launcher nor in the environment" in first.unknown("argument `$SEED`")
    assert second.source.line == 10 and second.world_size == 2
    assert "loop" in second.unknown("argument `$i`")
    assert third.source.line == 11 and third.launcher is Launcher.PYTHON and third.script_argv == ("--lr", "1e-5")
    assert dict(third.env)["CUDA_VISIBLE_DEVICES"] == "0"
    assert all(loads(dumps(launch)) == launch for launch in (first, second, third))


def test_a_quoted_variable_stays_one_word_and_an_unquoted_one_splits(tmp_path):
    path = _write(tmp_path, "run.sh", """
        ARGS="--a 1 --b 2"
        NAME='x "y" $z'
        python t.py $ARGS "$NAME"
        """)
    (launch,) = read_launcher(path)
    assert launch.script_argv == ("--a", "1", "--b", "2", 'x "y" $z')


def test_an_unparsable_launcher_is_an_error(tmp_path):
    path = _write(tmp_path, "bad.sh", "if then fi (\n")
    with pytest.raises(ShellError):
        read_launcher(path)


def test_a_variable_the_launcher_does_not_set_comes_from_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, "run.sh", """
        BATCH=${BATCH:-3}
        python t.py --bs $BATCH --seed $SEED
        """)
    monkeypatch.delenv("BATCH", raising=False)
    monkeypatch.setenv("SEED", "7")
    assert read_launcher(path)[0].script_argv == ("--bs", "3", "--seed", "7")
    monkeypatch.setenv("BATCH", "2")
    assert read_launcher(path)[0].script_argv == ("--bs", "2", "--seed", "7")
    assert read_launcher(path, environ={})[0].script_argv == ("--bs", "3", "--seed", "$SEED")

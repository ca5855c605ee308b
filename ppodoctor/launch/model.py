"""The launch model: how a training script is started (launcher, world size, precision, the accelerate
and DeepSpeed configurations) as plain frozen records with a JSON round-trip, like the setup model's.

A value the launch does not say is None with the reason in `unknowns`, never a guess: accelerate with
no `--num_processes` and no config file uses every visible GPU, which a static reader cannot count.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..records import Record, record
from ..setup.model import from_json_dict, to_json_dict
from ..types import StrEnum


class Launcher(StrEnum):
    ACCELERATE = "accelerate"  # `accelerate launch`, `python -m accelerate.commands.launch`
    TORCHRUN = "torchrun"  # `torchrun`, `python -m torch.distributed.run`
    DEEPSPEED = "deepspeed"  # the `deepspeed` launcher
    PYTHON = "python"  # `python train.py`: one process


@record
class Unknown(Record):
    """A launch value that cannot be told, and why."""

    what: str
    reason: str


@record
class LaunchSource(Record):
    """Where a launch is written: a shell launcher's file and the line its command starts on (its text
    with continuations joined), or the command line the user gave (file "")."""

    file: str = ""
    line: int = 0
    text: str = ""

    def describe(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "the command line"


class DeepSpeedVia(StrEnum):
    """Who hands the DeepSpeed configuration over: the TrainingArguments (`--deepspeed ds.json`: transformers
    checks it against them when they are built) or accelerate (its YAML or `--deepspeed_config_file`)."""

    TRAINING_ARGUMENTS = "training_arguments"
    ACCELERATE = "accelerate"


@record
class DeepSpeedConfig(Record):
    """A DeepSpeed configuration as the launch hands it over.

    source: the JSON file, or "accelerate:<yaml>" for the settings written inline in an accelerate YAML.
    values: the entries that matter, dotted (`zero_optimization.stage`, `bf16.enabled`,
    `train_micro_batch_size_per_gpu`), as written: "auto" stays "auto" (transformers fills it from
    the TrainingArguments, so it cannot contradict them).
    """

    source: str
    values: dict[str, Any]
    via: DeepSpeedVia = DeepSpeedVia.ACCELERATE

    def value(self, name: str) -> Any:
        return self.values.get(name)

    @property
    def zero_stage(self) -> Optional[int]:
        stage = self.values.get("zero_optimization.stage")
        return stage if type(stage) is int else (0 if stage is None else None)

    @property
    def offload_optimizer(self) -> str:
        return _device(self.values.get("zero_optimization.offload_optimizer.device"))

    @property
    def offload_param(self) -> str:
        return _device(self.values.get("zero_optimization.offload_param.device"))

    @property
    def auto(self) -> tuple[str, ...]:
        return tuple(name for name, value in self.values.items() if value == "auto")


def _device(value: Any) -> str:
    return value if isinstance(value, str) and value not in ("none", "") else ""


@record
class AccelerateConfig(Record):
    """The accelerate YAML a launch reads (`--config_file`), as written."""

    path: str
    values: dict[str, Any]


@record
class Launch(Record):
    """One run of a training script.

    script: its path as the launcher resolves it (relative paths against the shell launcher's
    directory); script_argv: the arguments after it, variables expanded. world_size: the number of
    processes (accelerate's `num_processes` is the total over machines, `torchrun`'s world is
    `nnodes × nproc_per_node`); mixed_precision: accelerate's "no"/"fp16"/"bf16"/"fp8", "" where the
    launch does not set it.
    """

    launcher: Launcher
    script: str
    script_argv: tuple[str, ...] = ()
    world_size: Optional[int] = None
    num_machines: Optional[int] = None
    mixed_precision: str = ""
    accelerate_config: Optional[AccelerateConfig] = None
    deepspeed: Optional[DeepSpeedConfig] = None
    env: tuple[tuple[str, str], ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    source: LaunchSource = LaunchSource()

    def unknown(self, what: str) -> Optional[str]:
        """Why `what` ("world size", "precision", ...) is not known; None when it is."""
        for item in self.unknowns:
            if item.what == what:
                return item.reason
        return None

    def describe(self) -> str:
        where = self.source.describe()
        size = f"{self.world_size} process{'es' if self.world_size != 1 else ''}" if self.world_size is not None \
            else "an unknown number of processes"
        return f"the launch at {where} ({self.launcher.value}, {size})"


def dumps(launch: Launch) -> str:
    return json.dumps(to_json_dict(launch))


def loads(text: str) -> Launch:
    return from_json_dict(Launch, json.loads(text))

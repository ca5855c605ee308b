"""The launch of a training script: a command line or a shell launcher read into Launch records
(model.py), with the accelerate and DeepSpeed configurations it reads (configs.py). Nothing here
imports accelerate, DeepSpeed or torch; bashlex and PyYAML load only when a launcher or a YAML is read.
"""

from __future__ import annotations

from pathlib import Path

from .command import NotALaunch, parse_command
from .model import Launch, LaunchSource
from .shell import ShellError, read_launcher

__all__ = ["Launch", "NotALaunch", "ShellError", "command_launch", "read_launcher"]


def command_launch(words: list[str], base: Path = Path(".")) -> Launch:
    """The launch a command line (`accelerate launch ... train.py ...`) starts; raises NotALaunch."""
    return parse_command(list(words), base, LaunchSource(text=" ".join(words)))

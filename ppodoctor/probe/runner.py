"""Asks the probe's worker, in the interpreter that will run the training script.

The worker gets the setup models as JSON and answers in JSON. It runs with a time limit, a memory
cap (set by the worker itself, see worker.cap_memory) and offline by default; anything that goes
wrong here becomes a ProbeFailed whose message is the reason, so that callers report "unchecked",
never a pass. The worker is a warm one (warm.py): reused inside an active pool (a `fix` run, the
language server), started for the one request otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..setup.model import FileSetup, to_json_dict
from . import warm
from .warm import ProbeFailed

DEFAULT_MEMORY_BYTES = 8 << 30  # generous: a 70B config on the meta device needs well under 1 GB


@dataclass(frozen=True)
class ProbeOptions:
    python: str = sys.executable
    timeout_s: float = 180.0
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    online: bool = False  # may fetch config/tokenizer files (never weights) from the hub
    trust_remote_code: bool = False
    model_paths: tuple[tuple[str, str], ...] = ()  # (hub id or source text, local directory)
    cwd: Optional[str] = None


def coerce_options(options) -> ProbeOptions:
    """ProbeOptions as given, or built from an object with like-named fields (config.Settings)."""
    if isinstance(options, ProbeOptions):
        return options
    fields = {f.name for f in dataclasses.fields(ProbeOptions)}
    given = {name: getattr(options, name) for name in fields if getattr(options, name, None) is not None}
    for alias, name in (("probe_timeout", "timeout_s"), ("probe_memory", "memory_bytes")):
        if getattr(options, alias, None) is not None:
            given[name] = getattr(options, alias)
    return ProbeOptions(**given)


@dataclass(frozen=True)
class ProbeAnswer:
    """The worker's answer: facts per file, per setup (plain dicts, see worker.py)."""

    files: tuple[tuple[dict, ...], ...]
    versions: dict
    accelerator: dict
    peak_rss_bytes: int
    wall_s: float
    api: dict = field(default_factory=dict)  # the interpreter's TRL API and import checks (worker_api.py)
    worker_pid: int = 0  # the warm worker that answered
    warm: bool = False  # whether it was already running (no imports paid for this answer)


def parse_model_path(text: str) -> tuple[str, str]:
    name, sep, directory = text.partition("=")
    if not sep or not name.strip() or not directory.strip():
        raise ValueError(f"--model-path wants NAME=DIR, got {text!r}")
    return name.strip(), directory.strip()


def worker_environment(options: ProbeOptions) -> dict:
    env = dict(os.environ)
    if not options.online:
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.update(TOKENIZERS_PARALLELISM="false", TRL_EXPERIMENTAL_SILENCE="1", PYTHONWARNINGS="ignore",
               TRANSFORMERS_VERBOSITY="error", PYTHONDONTWRITEBYTECODE="1")
    return env


def script_dir(file_setup: FileSetup) -> str:
    """Where the script's relative model paths start: its own directory (else the working one)."""
    path = Path(file_setup.path)
    return str(path.resolve().parent) if file_setup.path and path.exists() else str(Path.cwd())


def base_request(options: ProbeOptions) -> dict:
    """What every worker task is told: where to look for models, what it may fetch, its memory cap."""
    return {
        "cwd": options.cwd or os.getcwd(),
        "model_paths": {name: str(Path(directory).expanduser().resolve()) for name, directory in options.model_paths},
        "online": options.online,
        "trust_remote_code": options.trust_remote_code,
        "memory_bytes": options.memory_bytes,
    }


def ask_worker(request: dict, options: ProbeOptions) -> dict:
    """The worker's answer to one JSON request, bounded in time; ProbeFailed with the reason otherwise.

    Every task goes through here (the PPO probe, `migrate`'s checks of a ported script): one place
    starts the interpreter (or finds it warm), kills it past the deadline and reads its answer. The
    worker runs in a session of its own, which a terminal's Ctrl-C does not reach: on Ctrl-C here (or
    an error) it is killed and reaped before the interrupt goes on. Its temporary files go to a
    directory of its own (TMPDIR), removed however it ended, killed included."""
    return warm.ask(options.python, worker_environment(options), options.cwd, request, options.timeout_s)


def prewarm(options: ProbeOptions) -> None:
    """Inside an active pool: starts the worker of the options' interpreter now (its imports overlap
    what the caller does before its first probe); elsewhere nothing."""
    pool = warm.current()
    if pool is not None:
        pool.start(options.python, worker_environment(options), options.cwd)


def run_worker(file_setups: Sequence[FileSetup], options: ProbeOptions) -> ProbeAnswer:
    """One worker run for all of `file_setups` (several files, or versions of one, share its imports)."""
    import time

    request = dict(base_request(options), files=[to_json_dict(setup) for setup in file_setups],
                   script_dirs=[script_dir(setup) for setup in file_setups])
    started = time.monotonic()
    answer = ask_worker(request, options)
    wall = time.monotonic() - started
    if not answer.get("ok"):
        raise ProbeFailed(f"the probe failed: {answer.get('error') or 'no reason given'}")
    files = tuple(tuple(setups) for setups in answer["files"])
    if len(files) != len(file_setups) or any(len(f) != len(s.all_setups()) for f, s in zip(files, file_setups)):
        raise ProbeFailed("the probe answered for a different set of setups")
    worker = answer.get("_worker") or {}
    return ProbeAnswer(files, answer.get("versions") or {}, answer.get("accelerator") or {},
                       int(answer.get("peak_rss_bytes") or 0), wall, answer.get("api") or {},
                       int(worker.get("pid") or 0), bool(worker.get("warm")))

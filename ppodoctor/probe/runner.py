"""Launches the probe's worker in the interpreter that will run the training script.

The worker gets the setup models as JSON on stdin and answers in JSON on stdout. It runs with a
time limit, a memory cap (set by the worker itself, see worker.cap_memory) and offline by default;
anything that goes wrong here becomes a ProbeFailed whose message is the reason, so that callers
report "unchecked", never a pass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..setup.model import FileSetup, to_json_dict

WORKER = Path(__file__).with_name("worker.py")
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


class ProbeFailed(Exception):
    """The worker gave no usable answer; the message says why."""


@dataclass(frozen=True)
class ProbeAnswer:
    """The worker's answer: facts per file, per setup (plain dicts, see worker.py)."""

    files: tuple[tuple[dict, ...], ...]
    versions: dict
    accelerator: dict
    peak_rss_bytes: int
    wall_s: float
    api: dict = field(default_factory=dict)  # the interpreter's TRL API and import checks (worker_api.py)


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


def _no_core_dumps() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
    """Runs the worker on one JSON request, bounded in time; its answer, or ProbeFailed with the reason.

    Every task goes through here (the PPO probe, `migrate`'s checks of a ported script): one place
    starts the interpreter, kills it at the deadline and reads its last JSON line. The worker runs in
    a session of its own, which a terminal's Ctrl-C does not reach: on Ctrl-C here (or an error) it is
    killed and reaped before the interrupt goes on. Its temporary files go to a directory of its own
    (TMPDIR), removed however it ended, killed included."""
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="ppodoctor-probe-")
    try:
        return _ask(request, options, dict(worker_environment(options), TMPDIR=scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ask(request: dict, options: ProbeOptions, environment: dict) -> dict:
    try:
        process = subprocess.Popen([options.python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=environment, text=True,
                                   cwd=options.cwd or None, start_new_session=True, preexec_fn=_no_core_dumps)
    except OSError as error:
        raise ProbeFailed(f"cannot start {options.python}: {error.strerror or error}")
    try:
        stdout, stderr = process.communicate(json.dumps(request), timeout=options.timeout_s)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise ProbeFailed(f"the probe did not finish within {options.timeout_s:g} s")
    except BaseException:  # Ctrl-C, or an error here: the worker must not outlive the call
        _kill(process)
        raise
    answer = _last_json_line(stdout)
    if answer is None:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        if process.returncode and process.returncode < 0:
            tail = f"killed by signal {-process.returncode} ({tail})"
        raise ProbeFailed(f"the probe crashed in {options.python}: {tail}")
    return answer


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the worker's own session: nothing else is in it
    except ProcessLookupError:  # it ended, and whatever it started with it
        pass
    process.communicate()


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
    if len(files) != len(file_setups) or any(len(f) != len(s.setups) for f, s in zip(files, file_setups)):
        raise ProbeFailed("the probe answered for a different set of setups")
    return ProbeAnswer(files, answer.get("versions") or {}, answer.get("accelerator") or {},
                       int(answer.get("peak_rss_bytes") or 0), wall, answer.get("api") or {})


def _last_json_line(stdout: str) -> Optional[dict]:
    # Libraries may print to stdout; the worker's answer is its last line.
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None

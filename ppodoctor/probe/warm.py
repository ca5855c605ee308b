"""Warm probe workers: one per target interpreter, started once and asked many times.

A one-shot worker (`python worker.py`) pays `import torch, transformers, trl` (~5 s) for every
verdict (~0.3 s). A warm worker (worker_server.py) pays it once per interpreter and answers each
request in a child forked from its warm state. A `WorkerPool` keeps one per interpreter: a stage
that asks many times (the rounds of `fix --write`, the language server after each save) opens a
pool with `pool.active()` (or `session()`), and every `ask` inside it reuses the warm worker; an
ask outside any pool starts a worker, asks once and stops it, as before.

Bounds: the worker exits after `Limits.idle_s` without a request, after `max_requests`, or when
its memory passes `rss_limit`; the pool starts a fresh one the next time, and also when the
interpreter or its installed packages changed (a fingerprint of what the worker's hello names:
the interpreter, the site-packages directories on its sys.path, the dist-info of torch,
transformers and trl).
A worker that dies, hangs or cannot start raises `ProbeFailed` with the reason, within the
caller's time limit: the callers make that an "unchecked" verdict, never a hang.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

WORKER_SERVER = Path(__file__).with_name("worker_server.py")
# The worker's own deadline for a request comes a little before the caller's (a tenth of the time
# left, at most this much), so that a hung request is killed by the worker, which stays warm, rather
# than the worker by the caller.
_WORKER_MARGIN_S = 5.0


class ProbeFailed(Exception):
    """The worker gave no usable answer; the message says why."""


@dataclass(frozen=True)
class Limits:
    idle_s: float = 600.0  # the worker exits after this long without a request
    max_requests: int = 200  # ... after this many (a fresh one starts on the next)
    rss_limit: int = 6 << 30  # ... or once its resident memory passes this many bytes


def fingerprint(paths: list) -> tuple:
    """What the watched paths look like now: an install or upgrade changes a directory's listing
    (its mtime) or replaces a dist-info (its inode and mtime)."""
    found = []
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            found.append((path, None))
            continue
        found.append((path, status.st_ino, status.st_mtime_ns, status.st_size))
    return tuple(found)


def _no_core_dumps() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Worker:
    """One warm worker process: started, asked, stopped."""

    def __init__(self, python: str, environment: dict, cwd: Optional[str], limits: Limits) -> None:
        self.python, self.limits = python, limits
        self.scratch = tempfile.mkdtemp(prefix="ppodoctor-probe-")  # its TMPDIR, removed however it ends
        self.stderr = open(os.path.join(self.scratch, "worker.stderr"), "w+b")
        self.buffer = b""
        self.served = 0
        self.greeted = False
        self.retired = False
        self.pid = 0
        self.last_used = time.monotonic()
        self.watch: list = []
        self.seen: tuple = ()
        self.process: Optional[subprocess.Popen] = None
        settings = json.dumps({"idle_s": limits.idle_s, "max_requests": limits.max_requests,
                               "rss_limit": limits.rss_limit})
        try:
            self.process = subprocess.Popen(
                [python, str(WORKER_SERVER), settings], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.stderr, env=dict(environment, TMPDIR=self.scratch), cwd=cwd or None,
                start_new_session=True, preexec_fn=_no_core_dumps)
        except OSError as error:
            self.stop()
            raise ProbeFailed(f"cannot start {python}: {error.strerror or error}")
        self.pid = self.process.pid

    def greet(self, deadline: float, timeout_s: float) -> None:
        """Waits for the hello (the imports done); ProbeFailed if it dies or the deadline passes."""
        hello = self._read(deadline, timeout_s)
        if not hello.get("hello"):
            raise self._fail("the probe worker said no hello")
        self.watch = list(hello.get("watch") or ())
        self.seen = fingerprint(self.watch)
        self.greeted = True

    def usable(self) -> bool:
        """Alive, not retired, not about to leave for idleness, and its interpreter unchanged."""
        if self.process is None or self.process.poll() is not None or self.retired:
            return False
        if time.monotonic() - self.last_used > self.limits.idle_s - min(2.0, self.limits.idle_s / 4):
            return False  # it may be leaving right now: do not race its exit
        return fingerprint(self.watch) == self.seen

    def ask(self, request: dict, deadline: float, timeout_s: float) -> dict:
        """The worker's answer to one request, by the deadline; ProbeFailed otherwise (and it is stopped)."""
        self.served += 1
        left = max(0.0, min(deadline - time.monotonic(), timeout_s))
        worker_limit = round(max(0.1, left - min(_WORKER_MARGIN_S, left / 10)), 1)
        line = json.dumps({"id": self.served, "request": request, "timeout_s": worker_limit}) + "\n"
        try:
            self.process.stdin.write(line.encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._fail("the probe worker died")
        reply = self._read(deadline, timeout_s)
        self.last_used = time.monotonic()
        self.retired = bool(reply.get("retire"))
        answer = reply.get("answer")
        if not isinstance(answer, dict):
            raise self._fail("the probe worker answered nothing")
        return answer  # with `worker_error` when the request's child died or hung: the worker lives on

    def _read(self, deadline: float, timeout_s: float) -> dict:
        stdout = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                raise self._fail(f"the probe worker did not finish within {timeout_s:g} s", hung=True)
            chunk = os.read(stdout, 1 << 16)
            if not chunk:
                raise self._fail("the probe worker died")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise self._fail("the probe worker answered something that is not JSON")

    def _fail(self, why: str, hung: bool = False) -> ProbeFailed:
        """Stops the worker; the reason, with how it ended and its last words on stderr."""
        code = None if hung else self._wait(1.0)
        tail = self._stderr_tail()
        self.stop()
        if code is not None and code < 0:
            why += f" in {self.python}: killed by signal {-code}"
        elif code:
            why += f" in {self.python}: exit status {code}"
        return ProbeFailed(f"{why} ({tail})" if tail else why)

    def _wait(self, seconds: float) -> Optional[int]:
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def _stderr_tail(self) -> str:
        try:
            self.stderr.flush()
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1].strip() if lines else ""

    def kill(self) -> None:
        """Kills the worker's session now; whoever is reading from it sees it die."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Ends the worker (its whole session: the children it forked too) and removes its files."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the end of its input: it leaves by itself
            if self._wait(0.0) is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            with contextlib.suppress(OSError):
                self.process.stdout.close()
        with contextlib.suppress(OSError):
            self.stderr.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class WorkerPool:
    """One warm worker per (interpreter, environment); thread-safe, one request at a time."""

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self.workers: dict[tuple, Worker] = {}
        self.lock = threading.Lock()
        self.started = 0  # how many workers this pool started (the tests and benchmarks read it)

    def ask(self, python: str, environment: dict, cwd: Optional[str], request: dict, timeout_s: float) -> dict:
        """The answer to `request` from the warm worker of `python` (started when there is none or
        the one there is cannot serve); `_worker` in it says which process answered and whether warm."""
        key = _key(python, environment)
        deadline = time.monotonic() + timeout_s
        with self.lock:
            worker = self._usable(key)
            warm = worker is not None and worker.greeted
            try:
                if worker is None:
                    worker = self._start(key, python, environment, cwd)
                if not worker.greeted:
                    worker.greet(deadline, timeout_s)
                answer = worker.ask(request, deadline, timeout_s)
            except BaseException:  # a failure, or Ctrl-C: the worker (if any) must not outlive it
                dropped = self.workers.pop(key, None)
                if dropped is not None:
                    dropped.stop()
                raise
            if not worker.usable():
                self.workers.pop(key).stop()
        if answer.get("worker_error"):
            raise ProbeFailed(answer["worker_error"])
        answer["_worker"] = {"pid": worker.pid, "warm": warm, "served": worker.served}
        return answer

    def start(self, python: str, environment: dict, cwd: Optional[str]) -> None:
        """Starts the worker of `python` now, without waiting for it, so that its imports overlap
        the caller's own work; the first `ask` waits for its hello. A failure shows at that ask."""
        key = _key(python, environment)
        if not self.lock.acquire(blocking=False):
            return  # a request is under way (and starts what it needs): never keep the caller waiting
        try:
            if self._usable(key) is None:
                with contextlib.suppress(ProbeFailed):
                    self._start(key, python, environment, cwd)
        finally:
            self.lock.release()

    def _usable(self, key: tuple) -> Optional[Worker]:
        worker = self.workers.get(key)
        if worker is not None and not worker.usable():
            self.workers.pop(key).stop()
            return None
        return worker

    def _start(self, key: tuple, python: str, environment: dict, cwd: Optional[str]) -> Worker:
        worker = Worker(python, environment, cwd, self.limits)
        self.workers[key] = worker
        self.started += 1
        return worker

    def close(self) -> None:
        """Stops every worker. A request under way fails at once (its worker is killed first, and its
        thread cleans up), so closing never waits for a probe to finish."""
        for worker in list(self.workers.values()):
            worker.kill()
        with self.lock:
            for worker in self.workers.values():
                worker.stop()
            self.workers.clear()

    @contextlib.contextmanager
    def active(self) -> Iterator["WorkerPool"]:
        """Every probe asked inside (in this thread or context) uses this pool's workers."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


def _key(python: str, environment: dict) -> tuple:
    """A worker per interpreter path as given (a venv's python is a link to the same binary, but
    another sys.prefix) and per environment (offline or not, PYTHONPATH)."""
    return os.path.abspath(python), tuple(sorted(environment.items()))


_CURRENT: contextvars.ContextVar[Optional[WorkerPool]] = contextvars.ContextVar("ppodoctor_probe_pool", default=None)


def current() -> Optional[WorkerPool]:
    return _CURRENT.get()


@contextlib.contextmanager
def session(limits: Limits = Limits()) -> Iterator[WorkerPool]:
    """A pool for one run (every file, every round), closed at its end; inside another pool, that one."""
    outer = current()
    if outer is not None:
        yield outer
        return
    pool = WorkerPool(limits)
    try:
        with pool.active():
            yield pool
    finally:
        pool.close()


def ask(python: str, environment: dict, cwd: Optional[str], request: dict, timeout_s: float) -> dict:
    """One request: through the active pool's warm worker, else a worker started for it alone."""
    pool = current()
    if pool is not None:
        return pool.ask(python, environment, cwd, request, timeout_s)
    with session() as pool:
        return pool.ask(python, environment, cwd, request, timeout_s)

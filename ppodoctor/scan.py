"""Checking many files at once: read and prefilter here, parse the candidates in worker processes.

Reading a file and searching its bytes costs ~20 µs; parsing it with libcst costs ~10-100 ms. So this
process discovers, reads, decodes and prefilters every file (files.may_hold_setup), and only the few
files that can hold a PPO setup are parsed — in a process pool when there are more than
PARALLEL_THRESHOLD of them (or PARALLEL_BYTES), else here. Both paths give identical reports,
sorted by path.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from . import api, files
from .config import Settings
from .setup.model import FileSetup
from .trl_api.eras import Target

# A pool costs ~10 ms a worker to start; libcst parses and extract walks ~100 KB/s a core. Below
# either bound the candidates are checked here.
PARALLEL_THRESHOLD = 20
PARALLEL_BYTES = 128 * 1024

_Work = tuple[int, str, bytes, Target]


def scan(paths: Iterable[Path], settings: Settings, target: Optional[Target] = None,
         progress: Optional[Callable[[int], Optional[Callable[[], None]]]] = None,
         jobs: Optional[int] = None) -> tuple[api.FileReport, ...]:
    """Reports for every file under `paths`; `jobs` caps the worker processes (1: parse here)."""
    # Only another interpreter (--python) is asked in a subprocess worth overlapping with the scan;
    # our own interpreter's versions are read in-process at once.
    prefetch = _prefetch_target(settings) if target is None and settings.python else None
    found = list(files.discover(list(paths), settings.is_excluded))
    advance = (progress(len(found)) if progress is not None else None) or (lambda: None)
    targets = _Targets(settings, target, prefetch)
    reports: list[Optional[api.FileReport]] = [None] * len(found)
    candidates: list[tuple[int, str, bytes, files.SourceText]] = []
    untargeted: list[tuple[int, str]] = []  # clean files: their target may wait on a subprocess
    for index, (path, problem) in enumerate(found):
        name = str(path)
        if problem is None:
            try:
                data = files.read_bytes(path)
                # Only candidates are decoded: a file the prefilter rules out is never looked at
                # again, so its encoding cannot matter (and decoding costs more than reading).
                if files.may_hold_setup(data):
                    candidates.append((index, name, data, files.decode(data)))
                    continue
            except files.SourceError as error:
                problem = str(error)
        if problem is not None:
            reports[index] = api.FileReport(name, error=problem)
        else:
            untargeted.append((index, name))  # its report is made last, with its target
        advance()
    if candidates:
        _import_parser()  # ~170 ms, while the target's subprocess runs
    work = [(index, name, data, targets.of(name)) for index, name, data, _ in candidates]
    workers = min(jobs or available_cpus(), len(work))
    many = len(work) > PARALLEL_THRESHOLD or sum(len(item[2]) for item in work) > PARALLEL_BYTES
    results = _in_pool(work, settings, workers) if many and workers > 1 \
        else (_check_one(item, settings) for item in work)
    sources = {index: decoded for index, _, _, decoded in candidates}
    for index, report in results:
        # Workers send reports without the source (the bytes went the other way already).
        reports[index] = dataclasses.replace(report, source=sources[index])
        advance()
    for index, name in untargeted:
        reports[index] = api.FileReport(name, setup=FileSetup(name), target=targets.of(name))
    return tuple(sorted(reports, key=lambda report: report.path))


def _import_parser() -> None:
    import libcst  # noqa: F401

    from . import rules
    from .setup import extract  # noqa: F401

    rules.all_rules()


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Targets:
    """resolve_target per directory: it reads pins beside the file, never the file itself."""

    def __init__(self, settings: Settings, fixed: Optional[Target], prefetch) -> None:
        self.settings, self.fixed, self.prefetch = settings, fixed, prefetch
        self.by_directory: dict[str, Target] = {}

    def of(self, path: str) -> Target:
        if self.fixed is not None:
            return self.fixed
        if self.prefetch is not None:
            self.prefetch.join()  # its answer is cached now; asking twice would run two subprocesses
            self.prefetch = None
        key = os.path.dirname(path)
        if key not in self.by_directory:
            from .trl_api.target import resolve_target

            self.by_directory[key] = resolve_target(self.settings, Path(path))
        return self.by_directory[key]


def _prefetch_target(settings: Settings):
    """Start resolving the target in a thread: when it waits on another interpreter (--python: a
    subprocess) the wait overlaps reading files and importing libcst."""
    import threading

    def resolve() -> None:
        try:
            from .trl_api.target import resolve_target

            resolve_target(settings, None)
        except Exception:  # noqa: BLE001 - the main thread asks again and reports properly
            pass

    thread = threading.Thread(target=resolve, name="ppodoctor-target", daemon=True)
    thread.start()
    return thread


def _check_one(item: _Work, settings: Settings) -> tuple[int, api.FileReport]:
    index, name, data, target = item
    return index, api.check_source(data, name, settings, target)


# --- the pool -------------------------------------------------------------------------------------
_worker_settings: Optional[Settings] = None


def _worker_start(settings: Settings) -> None:
    global _worker_settings
    _worker_settings = settings
    # Ctrl-C is the parent's to handle: it terminates the pool. A worker that took the signal itself
    # would print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _worker_check(item: _Work) -> tuple[int, api.FileReport]:
    index, report = _check_one(item, _worker_settings)
    return index, dataclasses.replace(report, source=None)


def _in_pool(work: list[_Work], settings: Settings, workers: int) -> Iterator[tuple[int, api.FileReport]]:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods and sys.platform == "linux" else "spawn")
    # Workers are born with SIGINT blocked, so none can die of a Ctrl-C before _worker_start ignores it.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if hasattr(signal, "pthread_sigmask") else None
    try:
        pool = context.Pool(workers, initializer=_worker_start, initargs=(settings,))
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    try:
        # Largest first, so that no big file starts last and leaves the other workers idle.
        largest_first = sorted(work, key=lambda item: -len(item[2]))
        yield from pool.imap_unordered(_worker_check, largest_first, chunksize=1)
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C or an error: stop now, not after the queue drains
        raise
    finally:
        pool.join()

"""Checking many files at once: screen every file cheaply, parse the few that can matter.

Screening a file (read it, search its bytes with files.may_hold_setup, and for the few that pass,
decode it and ask Python's parser, setup.relevance) costs ~40 µs for most files; parsing one with
libcst costs ~10-300 ms. Screening runs here, or shared with forked children when there are more
than SCREEN_PARALLEL_FILES files; the files that can matter are then checked here, or in worker
processes (workers.py) when there are more than PARALLEL_THRESHOLD of them (or PARALLEL_BYTES). Every
path gives the same reports, sorted by path. On Ctrl-C every child is killed (SIGKILL) and reaped at
once, whatever file it is in the middle of.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from . import core, files
from .config import Settings
from .screening import Screened, screen_file
from .trl_api.eras import Target
from .types import Screen

# A pool costs ~10 ms a worker to start; libcst parses and extract walks ~100 KB/s a core. Below
# either bound the candidates are checked here.
PARALLEL_THRESHOLD = 20
PARALLEL_BYTES = 128 * 1024
# Screening costs ~40 µs a file: below this many, forking workers costs more than it saves.
SCREEN_PARALLEL_FILES = 1000

_Work = tuple[int, Screened, Target]


def scan(paths: Iterable[Path], settings: Settings, target: Optional[Target] = None,
         progress: Optional[Callable[[int], Optional[Callable[[], None]]]] = None,
         jobs: Optional[int] = None) -> tuple[core.FileReport, ...]:
    """Reports for every file under `paths`; `jobs` caps the worker processes (1: all here)."""
    # Only another interpreter (--python) is asked in a subprocess worth overlapping with the scan;
    # our own interpreter's versions are read in-process at once.
    prefetch = _prefetch_target(settings) if target is None and settings.python else None
    paths = list(paths)
    named = files.named_files(paths)
    found = list(files.discover_names(paths, settings.is_excluded if settings.exclude else None))
    advance = (progress(len(found)) if progress is not None else None) or (lambda: None)
    targets = _Targets(settings, target, prefetch)
    cpus = jobs or available_cpus()
    reports: list[Optional[core.FileReport]] = [None] * len(found)
    candidates: list[tuple[int, Screened]] = []
    untargeted: list[tuple[int, Screened]] = []  # their target may wait on a subprocess
    readable = []
    for index, (name, problem) in enumerate(found):
        if problem is None:
            readable.append((index, name))
        else:
            reports[index] = core.FileReport(name, error=problem)
            advance()
    if cpus > 1 and len(readable) > SCREEN_PARALLEL_FILES and _can_fork():
        targets.wait_for_prefetch()  # no thread may run while the process forks
        screened = _screen_forked(readable, cpus, named)
    else:
        screened = ((index, screen_file(name, name in named)) for index, name in readable)
    for index, outcome in screened:
        if outcome.screen == Screen.ERROR:
            reports[index] = core.check_screened(outcome, settings)
        elif outcome.screen == Screen.CHECK:
            candidates.append((index, outcome))
            continue
        else:
            untargeted.append((index, outcome))  # its report is made last
        advance()
    if candidates:
        _import_parser()  # ~170 ms, while the target's subprocess runs
    work = [(index, screened, targets.of(screened.name)) for index, screened in candidates]
    workers = min(cpus, len(work))
    many = len(work) > PARALLEL_THRESHOLD or sum(_size(item) for item in work) > PARALLEL_BYTES
    results = _in_pool(work, settings, workers) if many and workers > 1 \
        else (_check_one(item, settings) for item in work)
    sources = {index: screened.source for index, screened in candidates}
    try:
        for index, report in results:
            # Workers send reports without the source (the bytes went the other way already).
            reports[index] = dataclasses.replace(report, source=sources[index])
            advance()
    finally:
        results.close()  # interrupted here, not in the pool: its workers are stopped now, not at exit
    for index, screened in untargeted:
        reports[index] = core.check_screened(screened, settings, targets.of(screened.name))
    return tuple(sorted(reports, key=lambda report: report.path))


def _import_parser() -> None:
    import libcst  # noqa: F401

    # loaded only once a file needs it: screening runs first (cold start)
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
        self.anywhere: object = _NOT_ASKED

    def wait_for_prefetch(self) -> None:
        if self.prefetch is not None:
            self.prefetch.join()  # its answer is cached now; asking twice would run two subprocesses
            self.prefetch = None

    def of(self, path: str) -> Target:
        if self.fixed is not None:
            return self.fixed
        self.wait_for_prefetch()
        if self.anywhere is _NOT_ASKED:
            self.anywhere = _location_free_target(self.settings)
        if self.anywhere is not None:
            return self.anywhere
        key = os.path.dirname(path)
        if key not in self.by_directory:
            # the era table loads only for what needs it: kept off `check`'s start-up
            from .trl_api.target import resolve_target

            self.by_directory[key] = resolve_target(self.settings, Path(path))
        return self.by_directory[key]


_NOT_ASKED = object()


def _location_free_target(settings: Settings) -> Optional[Target]:
    """The target when no file's place can change it (it is named by an option or the config, or
    TRL is installed), else None: only pins beside the files are read per directory."""
    # the era table loads only for what needs it: kept off `check`'s start-up
    from .trl_api.target import installed_versions, resolve_target

    if settings.trl_version or installed_versions(settings.python or sys.executable)["trl"]:
        return resolve_target(settings, None)
    return None


def _prefetch_target(settings: Settings):
    """Start resolving the target in a thread: when it waits on another interpreter (--python: a
    subprocess) the wait overlaps reading files and importing libcst."""
    import threading

    def resolve() -> None:
        try:
            # the era table loads only for what needs it: kept off `check`'s start-up
            from .trl_api.target import resolve_target

            resolve_target(settings, None)
        except Exception:  # noqa: BLE001 - the main thread asks again and reports properly
            pass

    thread = threading.Thread(target=resolve, name="ppodoctor-target", daemon=True)
    thread.start()
    return thread


def _size(item: _Work) -> int:
    return len(item[1].source.raw)


def _check_one(item: _Work, settings: Settings) -> tuple[int, core.FileReport]:
    index, screened, target = item
    global _checked_here
    if _checked_here:
        _between_files()
    _checked_here = True
    enabled = gc.isenabled()
    gc.disable()  # see _between_files
    try:
        return index, core.check_screened(screened, settings, target)
    finally:
        if enabled:
            gc.enable()


_checked_here = False  # a file has been checked in this process (workers are forked before any)


def _between_files() -> None:
    """The garbage collection the allocations would trigger, run between two files instead of in one.

    A check allocates ~10^5 objects that live until it ends (the syntax tree, the setup model): a
    generation-0 collection that falls inside a check traverses them all and frees nothing (~90 ms
    each, 0.7 s of CPU on benchmarks/resolution.py's 300 scripts, a tenth of the check). Between
    two files the young objects are the last check's report and its garbage (the setup's scopes
    refer to each other): the same collection costs ~1 ms. The last file's tree is let go first:
    kept for a fix preview (setup/recent.py), it would be promoted with its reference cycles into
    an older generation, whose collections cost ~100 ms per 50 files; only the scan's last tree
    stays for the previews, the others parse again if they have one."""
    recent = sys.modules.get(f"{__package__}.setup.recent")  # loaded with the parser, if ever
    if recent is not None:
        recent.forget()
    _young, middle, old = gc.get_count()
    _threshold, middle_threshold, old_threshold = gc.get_threshold()
    gc.collect(2 if old > old_threshold else 1 if middle > middle_threshold else 0)


# --- the pool -------------------------------------------------------------------------------------
def _worker_check(settings: Settings, item: _Work) -> tuple[int, core.FileReport]:
    index, report = _check_one(item, settings)
    return index, dataclasses.replace(report, source=None)


def _can_fork() -> bool:
    """Forked workers start in a millisecond with everything imported; spawned ones would import it
    all again, which costs more than screening saves. Fork is used on Linux only."""
    return sys.platform == "linux" and hasattr(os, "fork")


def _screen_forked(readable: list[tuple[int, str]], workers: int,
                   named: frozenset[str] = frozenset()) -> list[tuple[int, Screened]]:
    """Screen in `workers` processes: this one and forked children, each taking every workers-th
    file, the children sending their answers back pickled through a pipe. (A multiprocessing pool
    costs ~50 ms more here: its queues and threads are worth it for long tasks, not for 40 µs ones.)
    A share whose child could not be forked, or failed, is screened here, so that the result, or
    the error, is what the serial path gives."""
    import pickle

    children: list[tuple[int, int, int]] = []  # (pid, read end, share)
    screened: list[tuple[int, Screened]] = []
    here = [0]  # the shares screened in this process

    def screen_share(share: int) -> list[tuple[int, Screened]]:
        return [(index, screen_file(name, name in named)) for index, name in readable[share::workers]]

    try:
        # Children are born with SIGINT blocked, so none can die of a Ctrl-C before ignoring it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for share in range(1, workers):
                pid = None
                try:  # out of processes or descriptors: this process takes the share
                    read_end, write_end = os.pipe()
                    try:
                        pid = os.fork()
                    finally:
                        if pid is None:
                            os.close(read_end)
                            os.close(write_end)
                except OSError:
                    here.append(share)
                    continue
                if pid == 0:  # the child: answer, write, and leave without running the parent's exit code
                    status = 1
                    try:
                        signal.signal(signal.SIGINT, signal.SIG_IGN)
                        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                        for _pid, inherited, _share in children:
                            os.close(inherited)
                        os.close(read_end)
                        answers = screen_share(share)
                        with os.fdopen(write_end, "wb") as pipe:
                            pickle.dump(answers, pipe, protocol=pickle.HIGHEST_PROTOCOL)
                        status = 0
                    finally:
                        os._exit(status)
                os.close(write_end)
                children.append((pid, read_end, share))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for share in here:
            screened.extend(screen_share(share))
        while children:
            pid, read_end, share = children[0]
            try:
                with os.fdopen(read_end, "rb") as pipe:
                    answers = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):
                answers = None
            children.pop(0)
            _pid, status = os.waitpid(pid, 0)
            screened.extend(screen_share(share) if answers is None or status != 0 else answers)
        return screened
    except BaseException:  # Ctrl-C or an error here: no child may outlive the scan
        for pid, read_end, _share in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            try:
                os.close(read_end)
            except OSError:
                pass
        raise


def _in_pool(work: list[_Work], settings: Settings, workers: int) -> Iterator[tuple[int, core.FileReport]]:
    """The checks in worker processes (workers.py): Ctrl-C kills them at once, mid-file."""
    import multiprocessing

    # worker processes start only for many files: their module loads only then
    from .workers import run_unordered

    # Largest first, so that no big file starts last and leaves the other workers idle.
    largest_first = sorted(work, key=lambda item: -_size(item))
    yield from run_unordered(_worker_check, settings, largest_first, workers,
                             multiprocessing.get_context("fork" if _can_fork() else "spawn"))

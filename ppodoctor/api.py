"""The library API that the CLI, the tests and other tools call (a facade over core, scan, probe, fixes)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from .config import Settings
from .core import CheckReport, FileReport, check_file, check_source, failed, parse_setup, run_rules
from .trl_api.eras import Target

__all__ = ["CheckReport", "FileReport", "check_file", "check_paths", "check_source", "failed", "parse_setup",
           "probe_report",
           "run_rules", "fix_source", "fix_paths", "FileFix", "FixReport"]


def check_paths(paths: Iterable[Path], settings: Optional[Settings] = None,
                target: Optional[Target] = None,
                progress: Optional[Callable[[int], Optional[Callable[[], None]]]] = None,
                jobs: Optional[int] = None) -> CheckReport:
    """Every file under `paths`, sorted by path; see scan.py for the prefilter and the worker pool.

    `progress(total)` may return a callable that is called once per file checked (the CLI's bar);
    `jobs` caps the worker processes (1 parses everything in this process).
    """
    # each command imports only what it runs (cold start)
    from .scan import scan

    return CheckReport(scan(paths, settings or Settings(), target, progress, jobs))


def probe_report(report: CheckReport, options=None, settings: Optional[Settings] = None) -> CheckReport:
    """Runs the runtime probe over a check's files: verdicts on findings, PPD501-504, memory plans.

    `options` is a probe.ProbeOptions (default: this interpreter, offline). torch and TRL are
    imported only in the probe's subprocess.
    """
    # each command imports only what it runs (cold start)
    from .pipeline.probe_report import probe_check_report

    return probe_check_report(report, options, settings or Settings())


def __getattr__(name: str):
    # fix_source / fix_paths live in fixes/, whose engine imports libcst's parser: `check` on files that
    # hold no PPO code must not pay for that, so they are re-exported lazily.
    if name in ("fix_source", "fix_paths", "FileFix", "FixReport"):
        # each command imports only what it runs (cold start)
        from .pipeline import fix as fixes_api

        return getattr(fixes_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

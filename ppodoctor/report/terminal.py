"""Terminal niceties: when to colour, how to colour, and a progress bar for long scans.

Colour uses click.style, which is already imported by the CLI, so the check path gains no start-up
cost. Everything here writes to stderr or returns strings; nothing is printed into piped output.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Optional, TextIO

import click

# Scans shorter than this finish before a bar would be worth looking at.
PROGRESS_MIN_FILES = 20


def _flag(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def color_enabled(stream: Optional[TextIO] = None) -> bool:
    """NO_COLOR wins; then FORCE_COLOR / CLICOLOR_FORCE force colour on; else only on a terminal."""
    if _flag("NO_COLOR") is not None:
        return False
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE"):
        value = _flag(name)
        if value is not None:
            return value.lower() not in ("0", "false", "no")
    stream = stream if stream is not None else sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


Styler = Callable[..., str]


def plain(text: str, **_style) -> str:
    return text


def styler(color: bool) -> Styler:
    return click.style if color else plain


class Progress:
    """A one-line bar on stderr: `[#####-----] 120/340 files`, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, width: int = 30):
        self.total, self.stream, self.width = total, stream, width
        self.done = 0
        self._drawn_at = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 or self.done >= self.total:
            self._drawn_at = now
            filled = self.width * self.done // max(1, self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} files")
            self.stream.flush()

    def close(self) -> None:
        # Erase the bar so the report starts on a clean line.
        self.stream.write("\r" + " " * (self.width + 30) + "\r")
        self.stream.flush()


def progress_for(total: int, stream: Optional[TextIO] = None) -> Optional[Progress]:
    """A bar only for many files and only when stderr is a terminal: logs and pipes stay clean."""
    stream = stream if stream is not None else sys.stderr
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if total < PROGRESS_MIN_FILES or not interactive:
        return None
    return Progress(total, stream)

"""Terminal niceties: when to colour, how to colour, and a progress bar for long scans.

Colour and the bar are click's (click.style, click.progressbar), which the CLI imports anyway, so
the check path gains no start-up cost. Everything here writes to stderr or returns strings; nothing
is printed into piped output.
"""

from __future__ import annotations

import os
import sys
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


def progress_for(total: int, stream: Optional[TextIO] = None):
    """click's progress bar for a scan of `total` files, on stderr, or None: a bar only for many
    files and only when the stream is a terminal, so that logs and pipes stay clean.

    The caller enters it (`with bar:`) and calls `bar.update(1)` per file. It redraws at most about
    a hundred times however many files there are: a redraw costs more than screening a file.
    """
    stream = stream if stream is not None else sys.stderr
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if total < PROGRESS_MIN_FILES or not interactive:
        return None
    return click.progressbar(length=total, file=stream, label="Checking", show_pos=True, show_percent=False,
                             show_eta=False, update_min_steps=max(1, total // 100), width=30,
                             bar_template="%(label)s [%(bar)s] %(info)s files")

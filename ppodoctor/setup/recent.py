"""The last few parsed files, so that a fix preview reuses the check's tree instead of parsing again.

`extract` leaves the module and its collected facts here for files that hold a trainer (only those
get fixes); `fixes.source.SourceMap` asks for the exact text it is given and parses afresh on a miss.
The bound keeps a scan of many files from holding every tree. Entries whose text was not handed in
are matched by the module's code as the positions' codegen produced it (libcst makes it byte-exact).
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from .scopes import ModuleFacts

_RECENT: deque = deque(maxlen=8)  # [facts, text or None], newest last


def remember(facts: ModuleFacts, text: Optional[str] = None) -> None:
    _RECENT.append([facts, text])


def recall(text: str) -> Optional[ModuleFacts]:
    """The facts of a module parsed from exactly `text`, when one is still held."""
    for entry in reversed(_RECENT):
        if entry[1] is None:
            entry[1] = entry[0].positions.code  # the module's code, regenerated when positions were
        if entry[1] == text:
            return entry[0]
    return None


def forget() -> None:
    _RECENT.clear()

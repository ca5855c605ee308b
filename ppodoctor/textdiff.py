"""The one unified diff that `fix --diff`, `check --diff` and `migrate` print of a file they change.

Line endings are compared as text (a CRLF file shows the lines it changes, not every line), and a
notebook shows one diff per changed cell, headed `path:cell N`, as ruff shows notebook fixes.
"""

from __future__ import annotations

import difflib

from .notebook import cell_diff


def file_diff(path: str, before: str, after: str, notebook: bool = False) -> str:
    """The unified diff of `before` → `after` under `path`; "" when they are the same text."""
    if before == after:
        return ""
    if notebook:
        return cell_diff(path, before, after)
    old = [line.rstrip("\r\n") + "\n" for line in before.splitlines(True)]
    new = [line.rstrip("\r\n") + "\n" for line in after.splitlines(True)]
    return "".join(difflib.unified_diff(old, new, path, path))

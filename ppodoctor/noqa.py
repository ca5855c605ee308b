"""`# noqa` comments, read as ruff reads them."""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?"  # compiled only for text that has one

ALL = frozenset({"*"})


def noqa_lines(text: str) -> dict[int, frozenset]:
    """Line number → the codes a `# noqa` comment on it silences (ALL for a bare `# noqa`)."""
    if "noqa" not in text.lower():
        return {}
    found: dict[int, frozenset] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = re.search(_NOQA, token.string, re.IGNORECASE)
        if match is None:
            continue
        codes = match.group("codes")
        found[token.start[0]] = ALL if not codes else frozenset(c.upper() for c in re.split(r"[\s,]+", codes) if c)
    return found


def is_silenced(code: str, lines: tuple[int, ...], table: dict[int, frozenset]) -> bool:
    for line in lines:
        codes = table.get(line)
        if codes is not None and (codes is ALL or code in codes):
            return True
    return False

"""Where things are in a notebook's JSON text: each cell's `source` value and its strings, and which
character of the file each decoded character comes from. The json module decodes; it does not say
where a value was, and a notebook is written back by splicing its original text at those places.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def source_values(text: str) -> list[tuple[tuple[int, int], tuple[tuple[int, int], ...]]]:
    """For each cell, in order: the span of its `source` value and of the JSON strings in it.
    The document is valid JSON (json.loads read it): only the path to the cells is walked, and
    the other values are skipped with the json module's own decoder (the last of duplicate keys
    counts, as in json.loads)."""
    import json
    from json.decoder import scanstring

    skip_value = json.JSONDecoder().raw_decode

    def skip(index: int) -> int:
        return _WHITESPACE.match(text, index).end()

    def walk(index: int, close: str, visit) -> int:
        """The object or array at `index`, `visit(key or None, value_index) -> value_end` for each item."""
        index = skip(index + 1)
        while text[index] != close:
            key = None
            if close == "}":
                key, index = scanstring(text, index + 1)
                index = skip(skip(index) + 1)
            index = skip(visit(key, index))
            if text[index] == ",":
                index = skip(index + 1)
        return index + 1

    def string_end(index: int) -> int:
        return scanstring(text, index + 1)[1]

    found: list = []

    def source(key, index, holder) -> int:
        if key != "source":
            return skip_value(text, index)[1]
        tokens: list[tuple[int, int]] = []
        if text[index] == '"':
            end = string_end(index)
            tokens.append((index, end))
        else:
            end = walk(index, "]", lambda _key, at: tokens.append((at, string_end(at))) or tokens[-1][1])
        holder[0] = ((index, end), tuple(tokens))
        return end

    def cell(_key, index) -> int:
        holder = [((index, index), ())]
        end = walk(index, "}", lambda key, at: source(key, at, holder))
        found.append(holder[0])
        return end

    def top(key, index) -> int:
        if key == "cells":
            found.clear()
            return walk(index, "]", cell)
        return skip_value(text, index)[1]

    walk(skip(0), "}", top)
    return found


def char_offsets(text: str, start: int, end: int) -> list[int]:
    """The index in `text` of each character the JSON string text[start:end] decodes to."""
    offsets, index, last = [], start + 1, end - 1
    while index < last:
        offsets.append(index)
        if text[index] != "\\":
            index += 1
        elif text[index + 1] != "u":
            index += 2
        elif 0xD800 <= int(text[index + 2:index + 6], 16) < 0xDC00 and text.startswith("\\u", index + 6) \
                and 0xDC00 <= int(text[index + 8:index + 12], 16) < 0xE000:
            index += 12  # a surrogate pair: one character
        else:
            index += 6
    return offsets


@lru_cache(maxsize=4)
def line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", text)]

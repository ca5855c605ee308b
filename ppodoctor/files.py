"""Finding, reading and decoding source files; the byte prefilter; atomic writes."""

from __future__ import annotations

import codecs
import io
import os
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

# A file can hold a PPO setup only if its bytes name the trainer or the trl package.
_MAY_HOLD_SETUP = re.compile(rb"PPOTrainer|PPOv2Trainer|\btrl\b")
_SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox",
                                  ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules", "build", "dist",
                                  "site-packages", ".eggs"})


class SourceError(Exception):
    """A file that cannot be checked; str() is the one-line cause."""


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str  # the codec to write back with
    bom: bool
    newline: str  # the file's dominant line ending
    raw: bytes


def may_hold_setup(data: bytes) -> bool:
    return _MAY_HOLD_SETUP.search(data) is not None


def decode(data: bytes) -> SourceText:
    """Decode as Python does (BOM, PEP 263 cookie, UTF-8 default), strictly."""
    if b"\x00" in data:
        raise SourceError("file contains NUL bytes")
    try:
        encoding, _lines = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot determine the encoding: {error.msg if hasattr(error, 'msg') else error}")
    bom = data.startswith(codecs.BOM_UTF8)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        raise SourceError(f"invalid {codec} at byte {error.start + (3 if bom else 0)}: {error.reason}")
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}")
    crlf = text.count("\r\n")
    newline = "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"
    return SourceText(text, codec, bom, newline, data)


def encode(source: SourceText, text: str) -> bytes:
    return (codecs.BOM_UTF8 if source.bom else b"") + text.encode(source.encoding)


def read_source(path: Path) -> SourceText:
    return decode(read_bytes(path))


def read_bytes(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise SourceError("is a directory")
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError("no such file")
    except PermissionError:
        raise SourceError("permission denied")
    except IsADirectoryError:
        raise SourceError("is a directory")
    except OSError as error:
        raise SourceError(error.strerror or str(error))


def is_python_file(path: Path) -> bool:
    return path.suffix in (".py", ".pyi")


def discover(paths: Iterable[Path], excluded: "Optional[callable]" = None) -> Iterator[tuple[Path, Optional[str]]]:
    """Files to check under `paths`, each with an error when the path itself is unusable.

    Paths named explicitly are always checked (as ruff does); directories are walked for Python
    files, skipping virtual environments, caches and what `excluded(path)` rejects.
    """
    seen: set = set()
    for path in paths:
        if not path.exists() and not path.is_symlink():
            yield path, "no such file or directory"
            continue
        if path.is_dir():
            yield from _walk(path, excluded, seen)
        else:
            yield path, None


def _walk(root: Path, excluded, seen: set) -> Iterator[tuple[Path, Optional[str]]]:
    for directory, subdirectories, filenames in os.walk(root, followlinks=False, onerror=None):
        current = Path(directory)
        subdirectories[:] = sorted(d for d in subdirectories
                                   if d not in _SKIPPED_DIRECTORIES and not d.endswith(".egg-info")
                                   and not (excluded and excluded(current / d)))
        for name in sorted(filenames):
            path = current / name
            if not is_python_file(path) or (excluded and excluded(path)):
                continue
            try:
                key = path.resolve()
            except (OSError, RuntimeError):
                yield path, "cannot resolve path (symlink loop?)"
                continue
            if key in seen:
                continue
            seen.add(key)
            yield path, None

"""Finding, reading and decoding source files; the byte prefilter; atomic writes."""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import tokenize
from functools import lru_cache
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Iterator, Optional, Union

from .records import Record, record

# A file can hold a PPO setup only if its bytes name the trainer (PPOTrainer, PPOv2Trainer, or a
# subclass's base) or import the trl package: setup.extract finds nothing else, so every other file
# is skipped unparsed. A bare word "trl" in a docstring or URL is not enough (trl's own sources and
# transformers mention it everywhere); tests/test_files_prefilter.py holds the equivalence: what the
# prefilter skips, extract finds nothing in. Substring tests come first: they run at memory speed,
# where a regex would try every byte position.
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_WORD_AFTER = frozenset(bytes([byte]) for byte in _NAME_BYTES if byte != ord("."))
# The text before a "trl" word, from its line's start, that makes it the module of an import.
_IMPORTS_TRL_PATTERN = (
    rb"(?:\A(?:\xef\xbb\xbf)?|[\n\r;:])[ \t\f]*(?:from|import(?:[ \t\f]|\\\r?\n)+"
    rb"(?:[\w.]+[ \t\f]*(?:as[ \t\f]+\w+[ \t\f]*)?,(?:[ \t\f]|\\\r?\n)*)*)(?:[ \t\f]|\\\r?\n)*\Z")
# Bigger files are refused unread: no training script is this large, and parsing one would stall
# the scan for minutes (libcst parses about 1 MB/s).
MAX_FILE_BYTES = 10 * 1024 * 1024
_MB = 1024 * 1024
_READ_CHUNK = 64 * 1024
_PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIX = ".ipynb"
_CHECKED_SUFFIXES = _PYTHON_SUFFIXES + (NOTEBOOK_SUFFIX,)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox",
                                  ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules", "build", "dist",
                                  "site-packages", ".eggs", ".ipynb_checkpoints"})


class SourceError(Exception):
    """A file that cannot be checked; str() is the one-line cause, `position` the (line, column)
    it points at, where there is one (a syntax error)."""

    def __init__(self, cause: str, position: Optional[tuple[int, int]] = None) -> None:
        super().__init__(cause)
        self.position = position


def syntax_error(error: SyntaxError) -> SourceError:
    """Python's account of a syntax error, as one line with its position."""
    line, column = error.lineno or 1, error.offset or 1
    return SourceError(f"syntax error at {line}:{column}: {error.msg}", (line, column))


def compile_source(text: str, filename: str):
    """Python's own verdict on a decoded source, as the interpreter would give it when running the
    file: its AST, or SourceError with the reason Python refuses it (parser and compiler alike:
    `'return' outside function`, `too many nested parentheses`, nesting beyond its limits)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: the script's business
            tree = compile(text, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise syntax_error(error) from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested for Python to compile") from None
    except ValueError as error:
        raise SourceError(f"Python cannot compile it: {error}") from None
    return tree


def named_files(paths: Iterable["str | os.PathLike[str]"]) -> frozenset[str]:
    """The names discover() gives the paths named as files (not directories): those are always read,
    decoded and compiled, where files found by walking a directory may be screened out unread."""
    return frozenset(str(Path(path)) for path in paths if str(path) != "-" and not os.path.isdir(path))


@record
class SourceText(Record):
    text: str
    encoding: str  # the codec to write back with
    bom: bool
    newline: str  # the file's dominant line ending
    raw: bytes
    # notebook.NotebookSource has these five attributes too; its `text` is the notebook's program.
    is_notebook: ClassVar[bool] = False

    def encode_text(self, text: str) -> bytes:
        """The file's bytes holding `text`, in its own encoding and BOM."""
        return (codecs.BOM_UTF8 if self.bom else b"") + text.encode(self.encoding)


def may_hold_setup(data: bytes) -> bool:
    if b"PPOTrainer" in data or b"PPOv2Trainer" in data:
        return True
    if b"trl" not in data:
        return False
    found = data.find(b"trl")
    while found >= 0:
        at, found = found, data.find(b"trl", found + 3)
        if (at > 0 and data[at - 1] in _NAME_BYTES) or data[at + 3:at + 4] in _WORD_AFTER:
            continue  # part of a longer name (ctrl, trlx) or an attribute (.trl)
        # The statement's start: the line's, or earlier lines' when they end in a backslash.
        start = at
        while True:
            start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start))
            if start <= 0 or data[max(0, start - 2):start].rstrip(b"\r")[-1:] != b"\\":
                break
        if _imports_trl().search(data, max(start, 0), at):
            return True
    return False


@lru_cache(maxsize=1)
def _imports_trl() -> "re.Pattern[bytes]":
    # Compiled on first use (~1 ms): most single-file checks name the trainer and never need it.
    return re.compile(_IMPORTS_TRL_PATTERN)


def decode(data: bytes) -> SourceText:
    """Decode as Python does (BOM, PEP 263 cookie, UTF-8 default), strictly."""
    if b"\x00" in data:
        raise SourceError("file contains NUL bytes")
    try:
        encoding, _lines = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise _undetected_encoding(data, error) from None
    bom = data.startswith(codecs.BOM_UTF8)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        raise SourceError(f"invalid {codec} at byte {error.start + (3 if bom else 0)}: {error.reason}")
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}")
    return SourceText(text, codec, bom, _newline(text), data)


def _undetected_encoding(data: bytes, error: SyntaxError) -> SourceError:
    """tokenize gives up on bytes that are not UTF-8 in the first two lines, before any cookie:
    say where, as for the bytes further down."""
    try:
        data[len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0:].decode("utf-8")
    except UnicodeDecodeError as bad:
        offset = bad.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        return SourceError(f"invalid utf-8 at byte {offset}: {bad.reason} (and no encoding is declared)")
    return SourceError(f"cannot determine the encoding: {error.msg if hasattr(error, 'msg') else error}")


def from_text(text: str) -> SourceText:
    """Source handed over as text (an editor's buffer, a test): it is decoded already, so a coding
    cookie only names the encoding to write it back in, and the text is not decoded a second time."""
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    if "\x00" in body:
        raise SourceError("file contains NUL bytes")
    data = body.encode("utf-8", "surrogatepass")
    try:
        encoding, _lines = tokenize.detect_encoding(io.BytesIO((codecs.BOM_UTF8 if bom else b"") + data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot determine the encoding: {error.msg if hasattr(error, 'msg') else error}")
    return SourceText(body, "utf-8" if encoding == "utf-8-sig" else encoding, bom, _newline(body), data)


def _newline(text: str) -> str:
    """The file's dominant line ending."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def encode(source: SourceText, text: str) -> bytes:
    """Raises UnicodeEncodeError (a text the encoding cannot hold) or, for a notebook, ValueError."""
    return source.encode_text(text)


def is_notebook(name: "str | os.PathLike[str]") -> bool:
    return os.fspath(name).endswith(NOTEBOOK_SUFFIX)


def may_hold_setup_named(data: bytes, name: str) -> bool:
    """may_hold_setup for a file named `name`. A notebook's code sits in JSON strings, where an
    import does not start a line, so any `trl` or trainer name lets it through to be decoded."""
    if is_notebook(name):
        return b"trl" in data or b"PPOTrainer" in data or b"PPOv2Trainer" in data
    return may_hold_setup(data)


def decode_named(data: bytes, name: str) -> SourceText:
    """decode(), or for a notebook its program text (notebook.py, imported only then)."""
    if not is_notebook(name):
        return decode(data)
    # notebooks and ignore files are read only when met (cold start)
    from .notebook import NotebookError, decode_notebook

    try:
        return decode_notebook(data)
    except NotebookError as error:
        raise SourceError(str(error)) from None


def decode_source(source: Union[str, bytes], name: str) -> SourceText:
    """Bytes as decode_named reads them; text as from_text does (a notebook's text is its JSON)."""
    if isinstance(source, bytes):
        return decode_named(source, name)
    if is_notebook(name):
        return decode_named(source.encode("utf-8", "surrogatepass"), name)
    return from_text(source)


def read_source(path: Path) -> SourceText:
    return decode(read_bytes(path))


def too_large(size: int, limit: int = MAX_FILE_BYTES) -> str:
    return f"too large to check ({size / _MB:.1f} MB > {limit / _MB:g} MB)"


def read_bytes(path: "str | os.PathLike[str]", limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, or SourceError with a one-line cause.

    The file is opened non-blocking and judged by fstat on the open descriptor: a FIFO or device
    named x.py is refused instead of hanging the scan, and a path swapped between discovery and
    reading is judged as what was actually opened. Files over `limit` are refused unread.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    except OSError as error:
        raise SourceError(os_cause(error)) from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise SourceError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("not a regular file (a FIFO, socket or device)")
        if info.st_size > limit:
            raise SourceError(too_large(info.st_size, limit))
        # Read to the end even if the file grew since fstat. Reads after the first ask for a small
        # chunk: os.read allocates all it is asked for, and the usual answer is b"".
        chunks = [os.read(descriptor, info.st_size + 1)]
        while chunks[-1] and sum(map(len, chunks)) <= limit:
            chunks.append(os.read(descriptor, _READ_CHUNK))
        data = b"".join(chunks)
    except OSError as error:
        raise SourceError(os_cause(error)) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:  # grew after fstat
        raise SourceError(too_large(len(data), limit))
    return data


def os_cause(error: OSError) -> str:
    causes = {errno.ENOENT: "no such file or directory", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.EISDIR: "is a directory",
              errno.ELOOP: "symbolic link loop (too many levels of symbolic links)",
              errno.ENOTDIR: "a parent of the path is not a directory"}
    return causes.get(error.errno) or (error.strerror or str(error)).lower()


def is_python_file(path: Path) -> bool:
    return path.suffix in _PYTHON_SUFFIXES


def discover(paths: Iterable[Path], excluded: Optional[Callable[[Path], bool]] = None,
             respect_gitignore: bool = True) -> Iterator[tuple[Path, Optional[str]]]:
    """Files to check under `paths`, each with an error when the path itself is unusable.

    Paths named explicitly are always checked (as ruff does), whatever their suffix or ignore rules;
    directories are walked for Python files and notebooks, skipping virtual environments, caches,
    what `excluded` rejects and, as git does, what .gitignore files say (the walk root's, those above
    it up to the repository's top, .git/info/exclude, and nested ones, the deepest match winning).
    Symlinked directories are not followed (no loops); a symlinked file is read through its link.
    """
    for name, problem in discover_names(paths, excluded, respect_gitignore):
        yield Path(name), problem


def discover_names(paths: Iterable[Path], excluded: Optional[Callable[[Path], bool]] = None,
                   respect_gitignore: bool = True) -> Iterator[tuple[str, Optional[str]]]:
    """discover(), with each path as a string: a Path per file costs more than reading a small one."""
    seen: set[str] = set()
    for path in paths:
        path = Path(path)
        key = os.path.normpath(os.path.abspath(path))
        if key in seen:
            continue
        if not os.path.lexists(path):
            seen.add(key)
            yield str(path), "no such file or directory"
        elif path.is_dir():
            # notebooks and ignore files are read only when met (cold start)
            from .ignore import Ignores

            ignores = Ignores.above(path) if respect_gitignore else None
            yield from _walk(path, excluded, seen, ignores, respect_gitignore)
        else:
            seen.add(key)
            yield str(path), None


def _walk(root: Path, excluded, seen: set[str], ignores, respect_gitignore: bool
          ) -> Iterator[tuple[Path, Optional[str]]]:
    # Iterative, so that a tree nested thousands deep cannot exhaust the recursion limit.
    pending = [(str(root), "", ignores)]  # strings, not Paths: a Path per entry costs more than the read
    while pending:
        directory, inner, ignores = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except FileNotFoundError:
            continue  # removed during the scan: nothing left to check
        except OSError as error:
            yield directory, f"cannot list directory: {os_cause(error)}"
            continue
        if respect_gitignore and any(entry.name == ".gitignore" for entry in entries):
            # notebooks and ignore files are read only when met (cold start)
            from .ignore import Ignores

            ignores = (ignores or Ignores()).below(Path(directory), inner)
        subdirectories = []
        for entry in entries:
            name = entry.name
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False
            relative = f"{inner}/{name}" if inner else name
            if is_directory:
                if name in _SKIPPED_DIRECTORIES or name.endswith(".egg-info"):
                    continue
                path = os.path.join(directory, name)
                if (ignores is not None and ignores.ignored(relative, True)) or (excluded and excluded(Path(path))):
                    continue
                subdirectories.append((path, relative, ignores))
            elif name.endswith(_CHECKED_SUFFIXES):
                path = os.path.join(directory, name)
                if (ignores is not None and ignores.ignored(relative, False)) or (excluded and excluded(Path(path))):
                    continue
                key = os.path.normpath(os.path.abspath(path))
                if key not in seen:
                    seen.add(key)
                    yield path, None
        pending.extend(reversed(subdirectories))


def write_atomic(path: Path, data: bytes, expected: Optional[bytes] = None) -> None:
    """Replace `path` with `data` atomically, keeping its mode.

    The bytes go to a temporary file beside the target (same filesystem, so os.replace is atomic),
    are fsynced, and replace the target in one step: a crash or Ctrl-C leaves either the old file
    or the new one, never half of one, and no temporary file. When `expected` is given and the file
    on disk no longer holds exactly those bytes (someone edited it since it was read), nothing is
    written and SourceError says so. A symlink is followed: its target is rewritten.
    """
    import stat
    import tempfile

    target = Path(os.path.realpath(path))
    try:
        status = target.stat()
    except FileNotFoundError:
        raise SourceError("file disappeared since it was read; not written")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".ppodoctor.tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        if expected is not None and read_bytes(target) != expected:
            raise SourceError("file changed on disk since it was read; not overwritten")
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise

"""What a model's or tokenizer's saved files say, read without torch or transformers.

A path in the script (`"./sft"`, `"meta-llama/Llama-2-7b-hf"`) names a directory next to the script,
in the working directory, or a snapshot in the Hugging Face cache. Its small JSON files answer some
questions a plain `check` can settle before the probe: is a pad token saved, how many labels does
the head have, which architecture is it, how large is its vocabulary. Anything that is not on disk,
or that the files do not say outright, is None: the rules then stay as careful as without them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from .records import Record, record
from .setup.model import Value
from .types import ValueKind

_UNSET = object()


@record
class SavedTokenizer(Record):
    directory: Path
    # The saved pad token: a string, "" when the files set it to null outright, None when they do not say
    # (the tokenizer class's own default then applies, which only the probe can tell).
    pad_token: Optional[str]
    eos_token: Optional[str]

    @property
    def has_pad(self) -> Optional[bool]:
        return None if self.pad_token is None else bool(self.pad_token)


@record
class SavedConfig(Record):
    directory: Path
    architectures: tuple[str, ...]
    model_type: str
    vocab_size: Optional[int]
    num_labels: Optional[int]  # from id2label / num_labels when written; None when the library default applies


def _token(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def hub_cache_roots() -> list[Path]:
    """Where huggingface_hub keeps snapshots, in its own order of precedence."""
    roots = []
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            roots.append(Path(os.environ[variable]).expanduser())
    home = os.environ.get("HF_HOME")
    roots.append(Path(home).expanduser() / "hub" if home else Path.home() / ".cache" / "huggingface" / "hub")
    return roots


def _snapshot(repo_id: str) -> Optional[Path]:
    folder = "models--" + repo_id.replace("/", "--")
    for root in hub_cache_roots():
        base = root / folder
        if not base.is_dir():
            continue
        ref = base / "refs" / "main"
        try:
            revision = ref.read_text(encoding="utf-8").strip()
        except OSError:
            revision = ""
        if revision and (base / "snapshots" / revision).is_dir():
            return base / "snapshots" / revision
        snapshots = sorted((base / "snapshots").glob("*")) if (base / "snapshots").is_dir() else []
        if len(snapshots) == 1:
            return snapshots[0]
    return None


class SavedFiles:
    """Looks up saved files for path Values as a script at `script_dir` would load them."""

    def __init__(self, script_dir: Optional[Path], cwd: Optional[Path] = None) -> None:
        self.script_dir, self.cwd = script_dir, cwd
        self._directories: dict[str, Optional[Path]] = {}

    @classmethod
    def near(cls, script_path: str) -> "SavedFiles":
        path = Path(script_path) if script_path and not script_path.startswith("<") else None
        return cls(path.resolve().parent if path is not None and path.exists() else None, Path.cwd())

    def directory(self, path: Optional[Value]) -> Optional[Path]:
        if path is None or path.kind != ValueKind.LITERAL or not isinstance(path.value, str) or not path.value:
            return None
        name = path.value
        if name not in self._directories:
            self._directories[name] = self._find(name)
        return self._directories[name]

    def _find(self, name: str) -> Optional[Path]:
        expanded = Path(os.path.expanduser(name))
        for base in (self.script_dir, self.cwd):
            if base is None and not expanded.is_absolute():
                continue
            candidate = expanded if expanded.is_absolute() else base / expanded
            if candidate.is_dir():
                return candidate
        if name.startswith((".", "/", "~")) or name.count("/") > 1:
            return None
        return _snapshot(name)

    def tokenizer(self, path: Optional[Value]) -> Optional[SavedTokenizer]:
        directory = self.directory(path)
        if directory is None:
            return None
        config = _read_json(directory / "tokenizer_config.json")
        special = _read_json(directory / "special_tokens_map.json")
        if config is None and special is None:
            return None
        pad: Any = _UNSET
        for source in (special or {}, config or {}):
            if "pad_token" in source:
                value = _token(source["pad_token"])
                if value:
                    pad = value
                    break
                if source["pad_token"] is None and pad is _UNSET:
                    pad = ""
        eos = _token((special or {}).get("eos_token")) or _token((config or {}).get("eos_token"))
        return SavedTokenizer(directory, None if pad is _UNSET else pad, eos)

    def config(self, path: Optional[Value]) -> Optional[SavedConfig]:
        directory = self.directory(path)
        data = _read_json(directory / "config.json") if directory is not None else None
        if data is None:
            return None
        labels = data.get("id2label")
        num_labels = len(labels) if isinstance(labels, dict) and labels else data.get("num_labels")
        vocab = data.get("vocab_size")
        return SavedConfig(directory, tuple(a for a in data.get("architectures") or () if isinstance(a, str)),
                           str(data.get("model_type") or ""), vocab if isinstance(vocab, int) else None,
                           num_labels if isinstance(num_labels, int) else None)

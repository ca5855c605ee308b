"""Settings from `[tool.ppodoctor]` in the nearest pyproject.toml, overridden by CLI options."""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Any, Optional

from .records import Record, record


def toml():
    """tomllib (tomli before 3.11), imported only once a TOML file is read: most checks read none."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


class ConfigError(Exception):
    pass


@record
class Settings(Record):
    """The options in force: [tool.ppodoctor] with the command line's overrides."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    trl_version: Optional[str] = None
    trl_version_source: str = ""
    config_path: Optional[Path] = None
    python: Optional[str] = None  # the interpreter that will run the training scripts

    def is_excluded(self, path: Path) -> bool:
        if not self.exclude:
            return False
        root = self.config_path.parent if self.config_path is not None else Path.cwd()
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = path.as_posix()
        for pattern in self.exclude:
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern) \
                    or any(fnmatch.fnmatch(part, pattern) for part in Path(relative).parts) \
                    or relative.startswith(pattern + "/"):
                return True
        return False


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above `start` that has a [tool.ppodoctor] table."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file() and "ppodoctor" in _read_toml(path).get("tool", {}):
            return path
    return None


def _read_toml(path: Path) -> dict:
    tomllib = toml()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}")


def _codes(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [tool.ppodoctor] {key} must be a list of strings")
    return tuple(v.strip().upper() for v in value)


def load_settings(start: Path, config: Optional[Path] = None) -> Settings:
    path = config or find_pyproject(start)
    if path is None:
        return Settings()
    table = _read_toml(path).get("tool", {}).get("ppodoctor", {})
    known = {"select", "ignore", "exclude", "extend-exclude", "trl-version"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.ppodoctor] option(s): {', '.join(sorted(unknown))}")
    trl_version = table.get("trl-version")
    if trl_version is not None and not isinstance(trl_version, str):
        raise ConfigError(f"{path}: [tool.ppodoctor] trl-version must be a string")
    exclude = tuple(table.get("exclude", ())) + tuple(table.get("extend-exclude", ()))
    return Settings(
        select=_codes(table.get("select", []), "select", path),
        ignore=_codes(table.get("ignore", []), "ignore", path),
        exclude=exclude,
        trl_version=trl_version,
        trl_version_source=f"trl-version in {path.name}" if trl_version else "",
        config_path=path,
    )


def merge(settings: Settings, **overrides: Any) -> Settings:
    """CLI options win over the file; empty options leave the file's values alone."""
    changes = {key: value for key, value in overrides.items() if value not in (None, ())}
    if "trl_version" in changes:
        changes.setdefault("trl_version_source", "--trl-version")
    return dataclasses.replace(settings, **changes)

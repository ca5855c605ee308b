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
    extend_select: tuple[str, ...] = ()  # added to `select` (when it names any: else every rule runs)
    # (pattern, codes) pairs: findings of those codes are dropped in files the pattern matches.
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # A template for rule documentation links ({code}, {name}, {anchor}); None: no links at all.
    docs_url: Optional[str] = None

    def is_excluded(self, path: Path) -> bool:
        return bool(self.exclude) and self._matches(path, self.exclude)

    def rule_codes(self, path: Optional[str] = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(select, ignore) in force for the file at `path`: `select` with `extend-select`, `ignore`
        with the codes of every per-file-ignores pattern that matches the path."""
        select = self.select + self.extend_select if self.select else ()
        ignore = self.ignore
        if path is not None and self.per_file_ignores:
            for pattern, codes in self.per_file_ignores:
                if self._matches(Path(path), (pattern,)):
                    ignore += codes
        return select, ignore

    def _matches(self, path: Path, patterns: tuple[str, ...]) -> bool:
        """Globs against the path relative to the configuration's directory (else the working
        directory), against its file name and against each of its directory names."""
        root = self.config_path.parent if self.config_path is not None else Path.cwd()
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            relative = path.as_posix()
        for pattern in patterns:
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


def _per_file_ignores(value: Any, key: str, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: [tool.ppodoctor] {key} must be a table of patterns to codes, '
                          f'e.g. {key} = {{"legacy/*.py" = ["PPD2"]}}')
    return tuple((pattern, _codes(codes, f"{key} {pattern!r}", path)) for pattern, codes in value.items())


def parse_per_file_ignores(values: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`PATTERN:CODES` items from the command line, as ruff takes them (`legacy/*.py:PPD2`), comma-
    separated or repeated; a comma-separated item without a colon adds a code to the one before
    (`legacy/*.py:PPD2,PPD3`). ValueError for an item that names no pattern."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            pattern, colon, code = item.rpartition(":")
            if colon and pattern:
                pairs.append((pattern.strip(), (code.strip().upper(),) if code.strip() else ()))
            elif pairs and not colon:
                pairs[-1] = (pairs[-1][0], pairs[-1][1] + (item.upper(),))
            else:
                raise ValueError(f"{item!r} is not PATTERN:CODES (e.g. legacy/*.py:PPD2)")
    return tuple(pairs)


def check_docs_url(template: str) -> None:
    """ValueError unless `template` is a URL whose only placeholders are {code}, {name}, {anchor}."""
    if "://" not in template:
        raise ValueError(f"{template!r} is not a URL (e.g. https://example.org/rules.md#{{anchor}})")
    try:
        template.format(code="PPD101", name="value-model-missing", anchor="ppd101-value-model-missing")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"{template!r}: placeholders are {{code}}, {{name}} and {{anchor}} ({error})") from None


KNOWN_KEYS = frozenset({"select", "extend-select", "ignore", "exclude", "extend-exclude", "trl-version",
                        "per-file-ignores", "extend-per-file-ignores", "docs-url"})


def load_settings(start: Path, config: Optional[Path] = None) -> Settings:
    path = config or find_pyproject(start)
    if path is None:
        return Settings()
    table = _read_toml(path).get("tool", {}).get("ppodoctor", {})
    unknown = set(table) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.ppodoctor] option(s): {', '.join(sorted(unknown))}")
    trl_version = table.get("trl-version")
    if trl_version is not None and not isinstance(trl_version, str):
        raise ConfigError(f"{path}: [tool.ppodoctor] trl-version must be a string")
    docs_url = table.get("docs-url")
    if docs_url is not None:
        if not isinstance(docs_url, str):
            raise ConfigError(f"{path}: [tool.ppodoctor] docs-url must be a string")
        try:
            check_docs_url(docs_url)
        except ValueError as error:
            raise ConfigError(f"{path}: [tool.ppodoctor] docs-url: {error}")
    exclude = tuple(table.get("exclude", ())) + tuple(table.get("extend-exclude", ()))
    per_file = _per_file_ignores(table.get("per-file-ignores", {}), "per-file-ignores", path) \
        + _per_file_ignores(table.get("extend-per-file-ignores", {}), "extend-per-file-ignores", path)
    return Settings(
        select=_codes(table.get("select", []), "select", path),
        extend_select=_codes(table.get("extend-select", []), "extend-select", path),
        ignore=_codes(table.get("ignore", []), "ignore", path),
        exclude=exclude,
        trl_version=trl_version,
        trl_version_source=f"trl-version in {path.name}" if trl_version else "",
        config_path=path,
        per_file_ignores=per_file,
        docs_url=docs_url,
    )


def merge(settings: Settings, extend_select: tuple[str, ...] = (),
          extend_per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = (), **overrides: Any) -> Settings:
    """CLI options win over the file; empty options leave the file's values alone; the `extend`
    options add to the file's (or, for per-file ignores, to the command line's when it names any)."""
    changes = {key: value for key, value in overrides.items() if value not in (None, ())}
    if extend_select:
        changes["extend_select"] = settings.extend_select + tuple(extend_select)
    if extend_per_file_ignores:
        changes["per_file_ignores"] = changes.get("per_file_ignores", settings.per_file_ignores) \
            + tuple(extend_per_file_ignores)
    if "trl_version" in changes:
        changes.setdefault("trl_version_source", "--trl-version")
    return dataclasses.replace(settings, **changes)

"""The editor's settings (section `ppodoctor`), and the Settings and target they give a file.

The editor's settings play the command line's part: they override `[tool.ppodoctor]` in the
nearest pyproject.toml, which overrides nothing else, so a file is checked as `ppodoctor check`
with the same options would check it at that path.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from ..config import ConfigError, Settings, load_settings, merge
from ..records import Record, record
from ..trl_api import target as trl_target
from ..trl_api.eras import Target, Version


@record
class ServerOptions(Record):
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    trl_version: Optional[str] = None
    python: Optional[str] = None
    probe_on_save: bool = False
    unsafe_fixes: bool = False
    show_syntax_errors: bool = True


# setting name → (field, kind); `interpreter` is accepted as VS Code's Python extension names it.
_FIELDS = {
    "select": ("select", "codes"), "ignore": ("ignore", "codes"), "trlVersion": ("trl_version", "text"),
    "python": ("python", "path"), "interpreter": ("python", "path"), "probeOnSave": ("probe_on_save", "flag"),
    "unsafeFixes": ("unsafe_fixes", "flag"), "showSyntaxErrors": ("show_syntax_errors", "flag"),
}


def section(payload: Any) -> dict:
    """The `ppodoctor` settings in what an editor sent: initializationOptions as `{settings: {...}}`,
    `{ppodoctor: {...}}` or flat; didChangeConfiguration's `settings` likewise."""
    if not isinstance(payload, dict):
        return {}
    for key in ("settings", "ppodoctor"):
        if isinstance(payload.get(key), dict):
            return section(payload[key])
    return payload


def parse_options(payload: Any, base: ServerOptions = ServerOptions()) -> tuple[ServerOptions, list[str]]:
    """`base` with the settings in `payload` applied, and a line for each one that was refused."""
    values = section(payload)
    changes: dict[str, Any] = {}
    problems = []
    for name, value in values.items():
        if name not in _FIELDS:
            continue  # other tools' settings share the section in some editors' configs
        field, kind = _FIELDS[name]
        try:
            changes[field] = _convert(value, kind)
        except ValueError as error:
            problems.append(f"setting `{name}`: {error}")
    if changes.get("trl_version"):
        try:
            Version.parse(changes["trl_version"])
        except ValueError as error:
            problems.append(f"setting `trlVersion`: {error}")
            del changes["trl_version"]
    for field in ("select", "ignore"):
        unknown = _unknown_codes(changes.get(field, ()))
        if unknown:
            problems.append(f"setting `{field}`: no rule matches {', '.join(unknown)}")
            changes[field] = tuple(code for code in changes[field] if code not in unknown)
    return dataclasses.replace(base, **changes), problems


def _convert(value: Any, kind: str) -> Any:
    if kind == "flag":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "codes":
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError("must be a list of rule codes or prefixes")
        return tuple(code.strip().upper() for item in value for code in item.split(",") if code.strip())
    if kind == "path" and isinstance(value, list):
        value = value[0] if value else None  # VS Code's `python.interpreter`-style list
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _unknown_codes(codes: tuple[str, ...]) -> list[str]:
    if not codes:
        return []
    # loaded on first use: the server answers `initialize` first
    from ..rules import all_rules

    known = [rule.code for rule in all_rules()]
    return [code for code in codes if code != "ALL" and not any(k.startswith(code) for k in known)]


@dataclasses.dataclass(frozen=True)
class FileContext:
    """What checking one document needs besides its text."""

    settings: Settings
    target: Target
    problem: Optional[str] = None  # a pyproject.toml that could not be read, said once to the user


def file_context(path: Optional[Path], options: ServerOptions, root: Optional[Path] = None) -> FileContext:
    """Settings and target for a document at `path` (None: an unsaved buffer, seen from `root`)."""
    start = path.parent if path is not None else (root or Path.cwd())
    problem = None
    try:
        settings = load_settings(start if start.exists() else Path.cwd())
    except ConfigError as error:
        settings, problem = Settings(), str(error)
    settings = merge(settings, select=options.select, ignore=options.ignore, trl_version=options.trl_version,
                     trl_version_source="the trlVersion setting" if options.trl_version else None,
                     python=_interpreter(options.python, root))
    return FileContext(settings, trl_target.resolve_target(settings, path), problem)


def _interpreter(python: Optional[str], root: Optional[Path]) -> Optional[str]:
    """`python` as a path: `~` expanded, a relative path with a directory (`.venv/bin/python`) taken
    from the workspace root, since editors do not agree on the server's working directory; a bare
    name (`python3`) is left for the PATH."""
    if not python:
        return None
    expanded = Path(python).expanduser()
    if not expanded.is_absolute() and len(expanded.parts) > 1 and root is not None:
        expanded = root / expanded
    return str(expanded)


def forget_pins() -> None:
    """Forget the requirement pins read so far (a file was saved): the next check reads them again."""
    trl_target.pinned_target.cache_clear()


def forget_environment() -> None:
    """Forget the interpreters' installed versions too (the configuration changed)."""
    trl_target.installed_versions.cache_clear()
    forget_pins()

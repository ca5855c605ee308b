"""The facts of an installed trl / transformers that the tables did not measure, read from its own
source with `ast` (module_names.py, source_facts.py): never imported, read only when a rule asks,
once per run.

Which data answers for a release:
1. One the tables measured (table.json, training_arguments.json): the tables. They were generated from
   that release's wheel, which is what an installation of it holds; reading it again would only slow
   `check` down (tests/test_installed_facts.py checks that both readings agree).
2. An installed one they did not measure (newer, a dev build, a local version): its source, where
   the target says it is installed (Target.trl_path / transformers_path, registered by `use`), or
   for transformers where the interpreter running ppodoctor has exactly that version.
3. Otherwise the measured data nearest below it; coverage.py says so in "Checked against".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Optional

from .eras import NEWEST_WITH_PPO, InvalidVersion, Version

UNREADABLE = object()  # an answer the installed source could not give: the tables answer instead
# What reading an installed file can raise: missing or unreadable files, syntax this Python does not
# parse, a layout the readers do not expect.
_ERRORS = (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError, StopIteration, LookupError,
           AttributeError, TypeError)

_registered: dict[tuple[str, str], str] = {}  # (package, version) → the directory holding the package
_releases: dict[tuple[str, str], object] = {}  # (root, version) → module_names.Release, or UNREADABLE
_entries: dict[tuple[str, str], object] = {}  # (root, version) → table.json-like entry, or UNREADABLE
_training_arguments: dict[tuple[str, str], Optional[frozenset[str]]] = {}


def use(target) -> None:
    """Remember where the target's trl and transformers are installed (a `Target` travels to worker
    processes; this registry does not, so each process registers the targets it checks against)."""
    if target.trl_path:
        _registered[("trl", str(target.version))] = target.trl_path
    if target.transformers_path and target.transformers is not None:
        _registered[("transformers", str(target.transformers))] = target.transformers_path


def registered(package: str) -> bool:
    """Whether any installation of `package` was registered (the tables' fast path when none was)."""
    return any(known == package for known, _version in _registered)


def location(package: str, version: Version, root: str = "") -> str:
    """The directory holding an installation of exactly `version` of `package`, "" where none is known."""
    if root:
        return root
    found = _registered.get((package, str(version)))
    if found or package == "trl":
        # trl: only an installation the target names (a --trl-version the running interpreter happens to
        # have is not looked up: `check` with --trl-version does not read its own interpreter's packages).
        return found or ""
    own_version, own_root = _own(package)
    return own_root if own_version is not None and str(own_version) == str(version) else ""


@lru_cache(maxsize=4)
def _own(package: str) -> tuple[Optional[Version], str]:
    """The version of `package` installed in the interpreter running ppodoctor, and where."""
    # the metadata walk runs only for a question about an unmeasured transformers
    from .installed import installations

    text, root = installations((package,))[package]
    try:
        return (Version.parse(text) if text else None), root
    except InvalidVersion:
        return None, ""


# --- trl ----------------------------------------------------------------------------------------------
def trl_release(version: Version):
    """The installed trl release registered for exactly `version` (a module_names.Release), or None."""
    root = location("trl", version)
    if not root:
        return None
    key = (root, str(version))
    release = _releases.get(key)
    if release is None:
        # the readers load only when an unmeasured installed release is asked about: off check's start-up
        from .module_names import Release
        from .source_tree import DirectoryTree

        release = _releases[key] = Release(DirectoryTree(root, "trl", str(version)))
    return None if release is UNREADABLE else release


def ask(version: Version, question: Callable) -> object:
    """`question(release)` for the installed release of `version`; UNREADABLE where there is none or
    its source cannot answer (then the release counts as unreadable for the rest of the run)."""
    release = trl_release(version)
    if release is None or trl_entry(version) is None:
        return UNREADABLE
    try:
        return question(release)
    except _ERRORS:
        _releases[(location("trl", version), str(version))] = UNREADABLE
        return UNREADABLE


def trl_entry(version: Version) -> Optional[dict]:
    """table.json's entry for `version`, read from its installation; None without a readable one."""
    release = trl_release(version)
    if release is None:
        return None
    key = (location("trl", version), str(version))
    entry = _entries.get(key)
    if entry is None:
        # the readers load only for an unmeasured installed release: off check's start-up
        from .source_facts import describe_release

        try:
            entry = describe_release(release)
        except _ERRORS:
            entry = UNREADABLE
            _releases[key] = UNREADABLE
        _entries[key] = entry
    return None if entry is UNREADABLE else entry


# --- transformers -----------------------------------------------------------------------------------
def training_arguments(version: Version, root: str = "") -> Optional[frozenset[str]]:
    """TrainingArguments' keywords in the installed transformers `version`; None where not readable."""
    root = location("transformers", version, root)
    if not root:
        return None
    key = (root, str(version))
    if key not in _training_arguments:
        # the readers load only for an unmeasured installed release: off check's start-up
        from .source_facts import training_arguments_fields
        from .source_tree import DirectoryTree

        try:
            source = DirectoryTree(root, "transformers").read("transformers/training_args.py")
            _training_arguments[key] = frozenset(training_arguments_fields(source))
        except _ERRORS:
            _training_arguments[key] = None
    return _training_arguments[key]

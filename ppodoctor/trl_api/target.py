"""Which TRL version a script will meet, and why we think so.

Order: `--trl-version`; `trl-version` in [tool.ppodoctor]; the TRL installed in the interpreter named
by `--python` (default: ours, whose metadata directories are read here, see installed.py; another
interpreter is asked with importlib.metadata in a subprocess, so that nothing heavy is imported
here); a pin in the nearest requirements*.txt or pyproject.toml above the checked file; else the
newest TRL with PPO, said to be assumed.

Where the target's trl or transformers is the installed one, the target also says where that
installation's source is (`trl_path`, `transformers_path`): installed_facts.py reads a release the
tables did not measure from it.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .eras import InvalidVersion, Target, Version

# Run by another interpreter: the version of each distribution and where its import package is (beside
# its metadata, or for an editable install in the project its direct_url.json names). Nothing is
# imported but importlib.metadata; installed.py does the same for our own interpreter.
_PROBE = """\
import importlib.metadata as m, json, os
from urllib.parse import unquote, urlparse
def where(dist, package):
    try:
        root = str(dist.locate_file(''))
        if os.path.isfile(os.path.join(root, package, '__init__.py')):
            return root
        url = json.loads(dist.read_text('direct_url.json') or '{}')
        if url.get('dir_info', {}).get('editable') and url.get('url', '').startswith('file://'):
            project = unquote(urlparse(url['url']).path)
            for root in (project, os.path.join(project, 'src')):
                if os.path.isfile(os.path.join(root, package, '__init__.py')):
                    return root
    except Exception:
        pass
    return ''
found = {}
for name in ('trl', 'transformers'):
    try:
        dist = m.distribution(name)
        found[name], found[name + '_path'] = dist.version, where(dist, name)
    except Exception:
        found[name], found[name + '_path'] = None, ''
print(json.dumps(found))
"""


@lru_cache(maxsize=16)
def installed_versions(python: str) -> dict[str, Optional[str]]:
    """{'trl': ..., 'transformers': ...} installed in `python`, and 'trl_path', 'transformers_path':
    the directory each import package is in ("" where not found); empty values when it cannot be asked.

    One subprocess per interpreter per run (~30 ms): `-I -S`-free so that site-packages are seen,
    but no TRL import, only package metadata.
    """
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        # Our own interpreter: its package metadata is readable here, without a process or an import.
        from .installed import installations

        found = installations(("trl", "transformers"))
        return {"trl": found["trl"][0], "transformers": found["transformers"][0],
                "trl_path": found["trl"][1], "transformers_path": found["transformers"][1]}
    import json
    import subprocess

    try:
        done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=20)
        found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        found = {}
    return {"trl": found.get("trl"), "transformers": found.get("transformers"),
            "trl_path": found.get("trl_path") or "", "transformers_path": found.get("transformers_path") or ""}


# --- pins -------------------------------------------------------------------------------------------
def _poetry_to_pep440(spec: str) -> Optional[str]:
    """Poetry's `^` and `~` constraints as PEP 440 specifiers (None when the version is not one)."""
    spec = spec.strip()
    try:
        if spec.startswith("^"):
            low = Version.parse(spec[1:])
            if low.major:
                high = f"{low.major + 1}.0.0"
            elif low.minor:
                high = f"0.{low.minor + 1}.0"
            else:
                high = f"0.0.{low.micro + 1}"
            return f">={low},<{high}"
        if spec.startswith("~") and not spec.startswith("~="):
            low = Version.parse(spec[1:])
            return f">={low},<{low.major}.{low.minor + 1}.0"
        if spec and spec[0].isdigit():
            return f"=={Version.parse(spec)}"
    except InvalidVersion:
        return None
    return spec


def version_for(spec: str) -> Optional[Version]:
    """A concrete version for a PEP 440 specifier: the highest known release that satisfies it.

    Known releases are those the era table measured plus the facts' named versions (all final
    releases, so PEP 440's rule applies: a pre-release satisfies only a specifier that names one);
    where none fits (a pin to a release the table never saw, a pre-release), the exact pin or the
    highest lower bound is used. None for text that is not a specifier.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    # the era table loads only for what needs it: kept off `check`'s start-up
    from . import table

    try:
        specifiers = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    if not len(specifiers):
        return None
    candidates = sorted(set(table.known_versions()) | set(_extra_releases()), reverse=True)
    for candidate in candidates:
        if specifiers.contains(candidate):
            return candidate
    bounds = []
    for clause in specifiers:
        if clause.operator in ("==", "===", ">=", "~=") and not clause.version.endswith("*"):
            try:
                bounds.append((clause.operator in ("==", "==="), Version.parse(clause.version)))
            except InvalidVersion:  # `===` takes any text
                continue
    return max(bounds)[1] if bounds else None


def _extra_releases() -> tuple[Version, ...]:
    # Releases between the table's measured ones, so that a range like `>=0.19,<0.21` lands on a
    # real release instead of the bound. The table entry used for rules is still the one at or below.
    names = ("0.11.0", "0.12.0", "0.12.1", "0.15.0", "0.15.1", "0.16.0", "0.16.1", "0.18.1", "0.18.2", "0.19.0",
             "0.19.1", "0.20.0", "0.21.0", "0.22.0", "0.22.1", "0.22.2", "0.23.0", "0.23.1", "0.25.0", "0.26.0",
             "0.26.1", "0.27.1", "0.27.2", "0.29.0", "1.0.0", "1.11.0")
    return tuple(Version.parse(name) for name in names)


def trl_requirement(line: str):
    """The `trl` requirement on a requirements line (a packaging Requirement), or None.

    pip's own options (`--hash=...`) and comments are dropped; markers are kept but not evaluated
    (the interpreter that will run the script is not known here)."""
    text = line.split("#", 1)[0].split(" --", 1)[0].strip()
    # Most lines name other packages: only one that starts like `trl` pays for packaging's
    # requirement parser (~30 ms to import).
    if text[:3].lower() != "trl":
        return None
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    return requirement if canonicalize_name(requirement.name) == "trl" else None


def _pin(line: str, where: str) -> Optional[tuple[str, str]]:
    """(specifier, description) for a pinned `trl` requirement line, as written (marker dropped)."""
    requirement = trl_requirement(line) if isinstance(line, str) else None
    if requirement is None or not requirement.specifier:
        return None
    written = " ".join(line.split("#", 1)[0].split(";", 1)[0].split(" --", 1)[0].split())
    return str(requirement.specifier), f"`{written}` in {where}"


def _pins_in(directory: Path) -> Optional[tuple[str, str]]:
    """(specifier, where) for the first trl pin in this directory's requirements or pyproject."""
    for path in sorted(directory.glob("requirements*.txt")):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            pin = _pin(line, path.name)
            if pin:
                return pin
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        # loaded only when the target is resolved that way (cold start)
        from ..config import toml

        tomllib = toml()
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        project = data.get("project", {})
        lines = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            lines.extend(extra)
        for line in lines:
            pin = _pin(line, pyproject.name)
            if pin:
                return pin
        poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("trl")
        if isinstance(poetry, dict):
            poetry = poetry.get("version")
        if isinstance(poetry, str) and poetry.strip() not in ("", "*"):
            spec = _poetry_to_pep440(poetry)
            if spec:
                return spec, f"`trl = \"{poetry}\"` in {pyproject.name}"
    return None


@lru_cache(maxsize=256)
def pinned_target(directory: Path) -> Optional[Target]:
    for candidate in (directory, *directory.parents):
        found = _pins_in(candidate)
        if found is None:
            continue
        version = version_for(found[0])
        if version is not None:
            return Target(version, found[1])
    return None


def resolve_target(settings, path: Optional[Path] = None) -> Target:
    """--trl-version, [tool.ppodoctor] trl-version, the installed TRL, a pin, else the newest with PPO."""
    python = getattr(settings, "python", None) or sys.executable
    if settings.trl_version and not getattr(settings, "python", None):
        installed = {"trl": None, "transformers": None}  # nothing to ask our own interpreter
    else:
        installed = installed_versions(python)
    where = "--python" if getattr(settings, "python", None) else "the interpreter running ppodoctor"
    transformers = _installed_version(installed["transformers"])
    transformers_source = f"installed in {where}" if transformers else ""
    transformers_path = installed.get("transformers_path") or "" if transformers else ""
    installed_trl = _installed_version(installed["trl"])
    trl_path = ""
    if settings.trl_version:
        target = Target.of(settings.trl_version, settings.trl_version_source or "--trl-version")
        if installed_trl is not None and str(installed_trl) == str(target.version):
            trl_path = installed.get("trl_path") or ""  # the named release is the one --python has
    elif installed_trl is not None:
        target = Target(installed_trl, f"trl installed in {where}, {python}")
        trl_path = installed.get("trl_path") or ""
    else:
        pinned = pinned_target(path.resolve().parent) if path is not None else None
        target = pinned or Target.default()
    if not target.source.startswith("trl installed") and not getattr(settings, "python", None):
        # ppodoctor's own interpreter says nothing about a TRL version named elsewhere.
        transformers = None
    if transformers is None:
        transformers, transformers_source = default_transformers(target.version)
        transformers_path = ""
    return Target(target.version, target.source, transformers, transformers_source, trl_path, transformers_path,
                  python if trl_path else "")


@lru_cache(maxsize=16)
def has_package(python: str, name: str) -> Optional[bool]:
    """Whether `python` can import the top-level package `name` (as TRL's own is_*_available asks:
    importlib's finder, then the distribution's metadata); None when the interpreter cannot be asked.
    Asked only when a rule needs it (an option that needs the package), never on `check`'s start-up."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        import importlib.util

        return importlib.util.find_spec(name) is not None
    import subprocess

    ask = f"import importlib.util as u, sys; sys.exit(0 if u.find_spec({name!r}) else 3)"
    try:
        done = subprocess.run([python, "-c", ask], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: True, 3: False}.get(done.returncode)


# Asked of the target interpreter: what TrainingArguments.__post_init__ accepts for bf16 without use_cpu
# (transformers' own tests, so the answer is the one the run will get).
_BF16_QUESTION = """import sys
from transformers.utils import is_torch_bf16_gpu_available, is_torch_xla_available
sys.exit(0 if is_torch_bf16_gpu_available() or is_torch_xla_available() else 3)"""


@lru_cache(maxsize=8)
def has_bf16_device(python: str) -> Optional[bool]:
    """Whether the machine `python` runs on has a bf16 GPU (or an XLA device) as transformers sees it; None
    when the interpreter cannot be asked. It imports torch there (about 3 s), so it is asked once per run
    and only when a rule needs it (an RLOO/GRPO config that trains in bf16 without use_cpu), never on
    `check`'s start-up."""
    import subprocess

    try:
        done = subprocess.run([python, "-c", _BF16_QUESTION], capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: True, 3: False}.get(done.returncode)


def _installed_version(text: Optional[str]) -> Optional[Version]:
    """An installed distribution's version; None for none, or for a header that is not PEP 440
    (a hand-built package): then it is as good as unknown."""
    if not text:
        return None
    try:
        return Version.parse(text)
    except InvalidVersion:
        return None


def default_transformers(trl: Version) -> tuple[Optional[Version], str]:
    """The transformers a fresh install beside this TRL gets, where it is known to be 5.

    TRL 1.x accepts transformers 5 and pip picks the newest; older releases cap or predate it.
    """
    if trl.base >= Version("1.0.0"):
        return Version("5.0.0"), "assumed: the newest transformers beside trl 1.x"
    return None, ""

"""Release wheels for the data generators (scripts/generate_*.py): downloaded once into a cache, read
with `zipfile`/`ast`, never installed or imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def fetch_wheel(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / f"{package}-{version}-py3-none-any.whl"
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                        f"{package}=={version}", "-d", str(cache)], check=True)
    return wheel


def locked_versions(package: str) -> tuple[str, ...]:
    """The versions of `package` that the environment locks (locks/*.txt) pin: the generators measure
    them, so a release that scripts/update-lock brings into a test environment is in the era data."""
    found = set()
    for lock in sorted((Path(__file__).resolve().parent.parent / "locks").glob("*.txt")):
        for line in lock.read_text(encoding="utf-8").splitlines():
            name, equals, version = line.split("#", 1)[0].strip().partition("==")
            if equals and name.strip().lower() == package:
                found.add(version.strip())
    return tuple(sorted(found))


def with_locked(package: str, measured: tuple[str, ...]) -> tuple[str, ...]:
    """`measured` plus the locked releases of `package` it lacks, oldest first."""
    def key(version: str) -> tuple:
        return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))

    return tuple(sorted(set(measured) | set(locked_versions(package)), key=key))

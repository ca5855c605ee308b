#!/usr/bin/env python3
"""Checks that a virtual environment holds its lock's packages: `lockcheck.py [--exact] PYTHON LOCK`.

Every package installed in PYTHON's environment (ppodoctor's editable install and the venv's own pip
and setuptools aside) must be in LOCK at the same version; with --exact every package of LOCK must be
installed too. Exit 1 with one line per difference. Run by scripts/setup after each install, so an
environment that drifted from its lock (a dependency the lock does not know, a hand install) stops
the setup instead of testing something else than what was tested.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BOOTSTRAP = {"pip", "setuptools", "wheel"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    return version.split("+", 1)[0]  # torch's `+cpu`: the lock names the public version


def read_lock(path: Path) -> dict[str, str]:
    """{canonical name: version} of a pip constraints file of `name==version` lines."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, equals, version = text.partition("==")
        if not equals:
            raise SystemExit(f"{path}: not a pin: {line!r}")
        pins[canonical(name.strip())] = public(version.strip())
    return pins


def installed(python: str) -> dict[str, str]:
    listing = subprocess.run([python, "-m", "pip", "list", "--format=json", "--exclude-editable",
                              "--disable-pip-version-check"], capture_output=True, text=True, check=True)
    return {canonical(row["name"]): public(row["version"]) for row in json.loads(listing.stdout)
            if canonical(row["name"]) not in BOOTSTRAP}


def differences(have: dict[str, str], lock: dict[str, str], exact: bool) -> list[str]:
    found = []
    for name, version in sorted(have.items()):
        if name not in lock:
            found.append(f"{name}=={version} is installed but not in the lock")
        elif lock[name] != version:
            found.append(f"{name}=={version} is installed, the lock says {lock[name]}")
    if exact:
        found.extend(f"{name}=={version} is in the lock but not installed"
                     for name, version in sorted(lock.items()) if name not in have)
    return found


def main(argv: list[str]) -> int:
    exact = "--exact" in argv
    python, lock = [a for a in argv if a != "--exact"]
    found = differences(installed(python), read_lock(Path(lock)), exact)
    for line in found:
        print(f"{lock}: {line}", file=sys.stderr)
    if found:
        print(f"{lock}: the environment of {python} is not its lock: run scripts/update-lock to move the lock, "
              "or remove the environment to rebuild it", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

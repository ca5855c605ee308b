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

"""The values of TRL's module-level constants in the measured releases (constants.json, generated from
the release wheels by scripts/generate_trl_constants.py): what a script that imports a constant the
target no longer has was given by the releases that had it. Loaded on the first question only."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..records import Record, record

CONSTANTS_PATH = Path(__file__).with_name("constants.json")


@record
class ConstantValue(Record):
    """`module.NAME` as the releases that defined it bound it: the newest value (Python source) and
    whether every one of them bound that same value."""

    source: str
    last_version: str
    unchanged: bool


@lru_cache(maxsize=1)
def _load() -> dict:
    return json.loads(CONSTANTS_PATH.read_text(encoding="utf-8"))["constants"]


def constant_value(module: str, name: str) -> Optional[ConstantValue]:
    """The value `from module import name` gave in the newest measured release that had it, or None when
    no measured release bound it there to a literal."""
    runs = _load().get(f"{module}:{name}")
    if not runs:
        return None
    return ConstantValue(runs[-1]["value"], runs[-1]["versions"][-1], len(runs) == 1)

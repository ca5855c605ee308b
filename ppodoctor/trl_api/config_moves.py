"""Where each field of the <= 0.11 PPOConfig went (old_config_fields.json, read once, on demand)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

_PATH = Path(__file__).with_name("old_config_fields.json")

RENAME, DROP, DECIDE = "rename", "drop", "decide"


@dataclass(frozen=True)
class FieldMove:
    action: str  # RENAME, DROP or DECIDE
    to: str = ""
    why: str = ""
    values: dict = field(default_factory=dict)  # old literal (JSON-spelled) -> new literal, for renames
    only_values: bool = False  # no value outside `values` has an equivalent

    def new_value(self, value: Any) -> tuple[bool, Any]:
        """(True, new literal) when the value needs respelling, (False, value) when it stays, and
        (False, None) when the value has no equivalent."""
        key = value if isinstance(value, str) else json.dumps(value)
        if key in self.values:
            return True, self.values[key]
        if self.only_values:
            return False, None
        return False, value


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(_PATH.read_text(encoding="utf-8"))


def move_of(name: str, fixed_kl: bool) -> Optional[FieldMove]:
    """The move for an old PPOConfig field; `fixed_kl` when the config sets adap_kl_ctrl=False."""
    entry = _table().get(name)
    if entry is None or name.startswith("_"):
        return None
    if fixed_kl and "unless_fixed_kl" in entry:
        entry = dict(entry, **entry["unless_fixed_kl"])
    return FieldMove(entry["action"], entry.get("to", ""), entry.get("why", ""), dict(entry.get("values") or {}),
                     bool(entry.get("only_values")))


def old_field_names() -> tuple[str, ...]:
    """Every field of the <= 0.11 PPOConfig that the new PPOConfig rejects (the table's keys: a field
    the new one still takes, such as `gradient_checkpointing`, has no move)."""
    return tuple(sorted(name for name in _table() if not name.startswith("_")))

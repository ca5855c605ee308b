"""The port's records: what changes in one PPOTrainer setup, in terms of the setup model, not of text."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

from ..types import Span


class ChangeKind(enum.Enum):
    RENAME = "rename"  # keyword renamed, value kept
    SET = "set"  # keyword (possibly renamed) gets a new value
    DROP = "drop"  # keyword removed (the comment says why)
    ADD = "add"  # keyword added (a carried default, num_generations, ...)


@dataclass(frozen=True)
class FieldChange:
    """One change to the config call: `old` (as written, "" for an addition) becomes `new`=`value`."""

    kind: ChangeKind
    old: str = ""
    new: str = ""
    value: Optional[str] = None  # source text of the new value (None: keep the written value)
    comment: str = ""  # why, written above the config in the script


class NoteKind(enum.Enum):
    MEANING = "meaning"  # the port trains differently from PPO here: the user decides knowingly
    UNPORTED = "unported"  # something the port left for the user (it is said what and why)


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str
    span: Optional[Span] = None


@dataclass(frozen=True)
class ConfigPlan:
    changes: tuple[FieldChange, ...]
    notes: tuple[Note, ...]
    eos_penalty: Optional[str] = None  # the missing_eos_penalty value's source text, turned into a reward function


@dataclass(frozen=True)
class SetupPort:
    """The port of one PPOTrainer(...) call, or why it cannot be ported (`declined`)."""

    index: int
    target: str  # mapping.RLOO or mapping.GRPO
    config: Optional[ConfigPlan] = None
    notes: tuple[Note, ...] = ()
    declined: str = ""


@dataclass(frozen=True)
class FileMigration:
    """One file's port: the new text, each setup's port and what the probe said about the result."""

    path: str
    original: object = None  # files.SourceText
    text: Optional[str] = None
    ports: tuple[SetupPort, ...] = ()
    error: Optional[str] = None  # the file could not be read or parsed (exit 2)
    declined: str = ""  # a trainer call the port cannot make, and why (nothing is changed)
    probe: tuple = ()  # a ProbeVerdict (with its checks) per new trainer call, when the probe looked
    probe_reason: str = ""  # why the probe gave no verdict at all
    written: bool = False
    not_written: str = ""
    remaining: tuple = field(default=())  # error-level findings of `check` on the new text

    @property
    def changed(self) -> bool:
        return self.original is not None and self.text is not None and self.text != self.original.text

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(note for port in self.ports for note in (port.config.notes if port.config else ()) + port.notes)

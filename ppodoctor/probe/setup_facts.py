"""One setup's facts from the worker's JSON, as typed records: each model, the tokenizer, each check.

The worker writes plain JSON (it cannot import ppodoctor); these records are how everything on this
side reads it, so that a misspelt key or status is an AttributeError here, not a silent None.
Unknown statuses read as UNCHECKED with the reason, never as a pass. Plain Python: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .probe_checks import TRL_MODULE, Built, Check, Imported, Status


def _built(raw: dict, what: str) -> tuple[Built, str]:
    try:
        return Built(raw.get("status")), raw.get("reason") or ""
    except ValueError:
        return Built.UNCHECKED, f"the worker answered {raw.get('status')!r} for the {what}"


@dataclass(frozen=True)
class ModelFacts:
    """One role's model as the worker built it on the meta device (worker_models.model_facts)."""

    status: Built
    reason: str = ""
    class_name: str = ""
    source: str = ""  # the path or name it was built from
    head: Optional[str] = None  # "score", "classifier", "lm_head", "v_head"
    head_width: Optional[int] = None
    vocab: Optional[int] = None
    params: int = 0
    bytes: int = 0
    dtype: Optional[str] = None
    same_as: str = ""  # the role whose very object it is
    architectures: tuple[str, ...] = ()  # as its saved config names them
    largest_layer: int = 0  # the most parameters one module holds itself (ZeRO-3 gathers it whole)
    layers: Optional[int] = None  # the text model's shape: what the generation cache and activations grow with
    hidden: Optional[int] = None
    heads: Optional[int] = None
    kv_heads: Optional[int] = None
    head_dim: Optional[int] = None
    from_config: bool = False  # built from a config (random weights), not loaded from a checkpoint

    @property
    def built(self) -> bool:
        return self.status is Built.BUILT

    @classmethod
    def read(cls, raw: Any) -> "ModelFacts":
        if not isinstance(raw, dict):
            return cls(Built.ABSENT)
        status, reason = _built(raw, "model")
        return cls(status, reason, raw.get("class") or "", raw.get("source") or "", raw.get("head"),
                   raw.get("head_width"), raw.get("vocab"), int(raw.get("params") or 0), int(raw.get("bytes") or 0),
                   raw.get("dtype"), raw.get("same_as") or "", tuple(raw.get("architectures") or ()),
                   int(raw.get("largest_layer") or 0), *(_int_or_none((raw.get("shape") or {}).get(key))
                                                          for key in ("layers", "hidden", "heads", "kv_heads", "head_dim")),
                   from_config=bool(raw.get("from_config")))


def _int_or_none(value: Any) -> Optional[int]:
    return value if type(value) is int else None


@dataclass(frozen=True)
class TokenizerFacts:
    """The processing class as loaded from its saved files, the script's edits replayed on it."""

    status: Built
    reason: str = ""
    class_name: str = ""
    source: str = ""
    pad_token: Optional[str] = None
    saved_pad_token: Optional[str] = None  # before the script's edits
    length: int = 0
    needed_vocab: int = 0  # the embeddings a model needs for every id the tokenizer may give
    opaque: tuple[str, ...] = ()  # what the script passes it to that may change it unseen

    @property
    def built(self) -> bool:
        return self.status is Built.BUILT

    @classmethod
    def read(cls, raw: Any) -> "TokenizerFacts":
        if not isinstance(raw, dict):
            return cls(Built.ABSENT)
        status, reason = _built(raw, "tokenizer")
        saved = raw.get("saved") or {}
        return cls(status, reason, raw.get("class") or "", raw.get("source") or "", raw.get("pad_token"),
                   saved.get("pad_token"), int(raw.get("length") or 0), int(raw.get("needed_vocab") or 0),
                   tuple(raw.get("opaque") or ()))


@dataclass(frozen=True)
class CheckResult:
    """One of the worker's checks (probe_checks.Check) as the rules read it: its status, TRL's error
    for a failure, the reason it could not run, and the check's own data (`missing`, `unexpected`...)."""

    name: Check
    status: Status
    error: str = ""
    reason: str = ""
    details: dict = field(default_factory=dict)

    @classmethod
    def read(cls, name: Check, raw: object) -> "CheckResult":
        if not isinstance(raw, dict):
            return cls(name, Status.UNCHECKED, reason=f"no {name} check ran")
        try:
            status = Status(raw.get("status"))
        except ValueError:
            return cls(name, Status.UNCHECKED, reason=f"the {name} check answered {raw.get('status')!r}")
        return cls(name, status, raw.get("error") or "", raw.get("reason") or "", raw)

    def detail(self, key: str, default=()):
        return self.details.get(key, default)


ROLES = ("policy", "reference", "reward", "value")


@dataclass(frozen=True)
class SetupFacts:
    """Everything the worker found about one trainer call. `raw` is its JSON, for `--probe` reports."""

    models: Mapping[str, ModelFacts]
    tokenizer: TokenizerFacts
    checks: tuple[CheckResult, ...]
    raw: dict

    def model(self, role: str) -> ModelFacts:
        return self.models.get(role) or ModelFacts(Built.ABSENT)

    @property
    def trl_module(self) -> Optional[str]:
        """The module whose PPOTrainer the checks ran against; None where this TRL has none (the
        worker's stand-ins ran, for a trainer the script does not meet)."""
        return (self.raw.get("checks") or {}).get(TRL_MODULE)

    def check(self, name: Check) -> CheckResult:
        for result in self.checks:
            if result.name is name:
                return result
        return CheckResult(name, Status.UNCHECKED, reason=f"no {name} check ran")

    @classmethod
    def read(cls, raw: Any) -> Optional["SetupFacts"]:
        if not isinstance(raw, dict):
            return None
        checks = []
        for name, entry in (raw.get("checks") or {}).items():
            try:
                checks.append(CheckResult.read(Check(name), entry))
            except ValueError:
                continue  # not a check (TRL_MODULE), or one a newer worker knows
        models = {role: ModelFacts.read(entry) for role, entry in (raw.get("models") or {}).items()}
        return cls(models, TokenizerFacts.read(raw.get("tokenizer")), tuple(checks), raw)


@dataclass(frozen=True)
class ImportAttempt:
    """One `from module import names` as the worker ran it (worker_api.check_import)."""

    module: str
    names: tuple[str, ...]
    status: Imported
    detail: str = ""

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.module, self.names)

    @classmethod
    def read(cls, raw: dict) -> "ImportAttempt":
        try:
            status = Imported(raw.get("status"))
        except ValueError:
            status = Imported.ERROR
        return cls(raw.get("module") or "", tuple(raw.get("names") or ()), status, raw.get("detail") or "")

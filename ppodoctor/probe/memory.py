"""The memory plan: what the four models will hold in memory once training starts, on one device
without DeepSpeed (device_plan.py's figures at its defaults: one plan, two views).

Trained models (the policy and the value model, and a reference or reward model that is one of
those objects) hold weights, gradients and two AdamW moments, all at the parameters' dtype (torch's
AdamW keeps its state like the parameter); frozen models (reference and reward) hold weights only.
Activations and the generation cache come on top and depend on batch and sequence sizes, so they are
not counted here (the device plan counts them for a launch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .device_plan import device_plan
from .setup_facts import SetupFacts


@dataclass(frozen=True)
class ModelMemory:
    role: str
    params: int
    dtype: str
    weight_bytes: int
    trained: bool
    shared_with: str = ""  # another role that is the same object: counted once, there
    total_bytes: int = 0  # weights, and for a trained model its gradients and AdamW moments


@dataclass(frozen=True)
class MemoryPlan:
    models: tuple[ModelMemory, ...]
    missing: tuple[tuple[str, str], ...] = ()  # (role, reason) for models the probe could not build

    @property
    def total_bytes(self) -> int:
        return sum(model.total_bytes for model in self.models)

    def to_dict(self) -> dict:
        return {"models": [dict(role=m.role, params=m.params, dtype=m.dtype, weight_bytes=m.weight_bytes,
                                trained=m.trained, shared_with=m.shared_with or None, total_bytes=m.total_bytes)
                           for m in self.models],
                "missing": [dict(role=role, reason=reason) for role, reason in self.missing],
                "total_bytes": self.total_bytes, "complete": not self.missing}


def memory_plan(facts: Optional[SetupFacts]) -> MemoryPlan:
    plan = device_plan(facts)
    return MemoryPlan(tuple(ModelMemory(r.role, r.params, r.dtype, r.weight_bytes, r.trained, r.shared_with,
                                        r.on_device) for r in plan.roles), plan.missing)


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.2f} {unit}"
        count /= 1024
    return f"{count:.2f} GiB"


def human_count(count: int) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= size:
            return f"{count / size:.2f}{suffix}"
    return str(count)


def render_plan(plan: MemoryPlan) -> list[str]:
    lines = ["  role       params     dtype      weights      state                  total"]
    for model in plan.models:
        if model.shared_with:
            state = f"same object as {model.shared_with}"
        else:
            state = "trained: +grads +AdamW" if model.trained else "frozen"
        lines.append(f"  {model.role:<10} {human_count(model.params):>9}  {model.dtype:<9} "
                     f"{human_bytes(model.weight_bytes):>11}  {state:<22} {human_bytes(model.total_bytes):>10}")
    for role, reason in plan.missing:
        lines.append(f"  {role:<10} not counted: {reason}")
    qualifier = "" if not plan.missing else " (incomplete)"
    lines.append(f"  total{qualifier}: {human_bytes(plan.total_bytes)} before activations")
    return lines

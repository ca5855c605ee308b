"""The per-device memory plan: what one GPU holds in a PPO run at a launch's world size, precision and
ZeRO stage, from the models the probe built on the meta device (no weights).

Model states under DeepSpeed are zero.py's (DeepSpeed's own accounting, held against its estimators:
16-bit weights and gradients, 16 bytes of fp32 state a parameter, partitioned by the ZeRO stage, the
largest module gathered whole at stage 3; offloading moves state to the CPU). Without DeepSpeed
(plain DDP) every rank holds weights, gradients and torch's two AdamW moments at the parameters' own
dtype (an 8-bit optimizer: one byte a moment). PPO trains the policy and the value model as one
engine (TRL's PolicyAndValueWrapper); the reference and reward models are only run: under ZeRO-3
they are partitioned too (TRL's prepare_deepspeed), otherwise each rank holds them in 16 bits.

On top of the model states: the rollout's generation cache (keys and values of every layer for the
local batch's query + response), the logits buffer (batch × response × vocabulary in fp32, often the
peak), and the training activations of a local mini-batch (Korthikanti et al. 2022: s·b·h·(34 +
5·a·s/h) bytes a layer in 16 bits, 2·s·b·h with full recomputation, i.e. gradient checkpointing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from . import zero
from .probe_checks import Built
from .setup_facts import ROLES, ModelFacts, SetupFacts

TRAINED = ("policy", "value")
_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
GIB = 1024 ** 3


@dataclass(frozen=True)
class Distribution:
    """How the run is launched: ranks, DeepSpeed's ZeRO stage (None: no DeepSpeed) and offloading."""

    world_size: int = 1
    nodes: int = 1
    zero_stage: Optional[int] = None
    offload_optimizer: bool = False
    offload_params: bool = False
    optimizer_bits: int = 32  # 8: an 8-bit optimizer (bitsandbytes' AdamW8bit), plain DDP only


@dataclass(frozen=True)
class Workload:
    """The sizes the activations, the generation cache and the logits grow with, per device."""

    rollout_batch: int = 1  # sequences one rank generates at once
    train_batch: int = 1  # sequences in one rank's forward/backward
    query_length: int = 512
    response_length: int = 128
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class RoleMemory:
    role: str
    params: int
    trained: bool
    on_device: int  # bytes one GPU holds for this role's model states
    offloaded: int = 0  # bytes moved to the CPU, per rank
    shared_with: str = ""  # another role that is the same object: counted once, there
    dtype: str = ""
    weight_bytes: int = 0  # the weights alone, as the probe counted them


@dataclass(frozen=True)
class DevicePlan:
    roles: tuple[RoleMemory, ...]
    kv_cache: int
    logits: int
    activations: int
    distribution: Distribution
    workload: Workload
    missing: tuple[tuple[str, str], ...] = ()  # (role, reason): models the probe could not build, not counted

    @property
    def model_states(self) -> int:
        return sum(role.on_device for role in self.roles)

    @property
    def peak(self) -> int:
        """Model states, then the larger of the rollout (cache + logits) and the update (activations +
        logits) on top."""
        return self.model_states + self.logits + max(self.kv_cache, self.activations)

    def to_dict(self) -> dict:
        return {"roles": [dict(role=r.role, params=r.params, trained=r.trained, on_device_bytes=r.on_device,
                               offloaded_bytes=r.offloaded, shared_with=r.shared_with or None) for r in self.roles],
                "model_states_bytes": self.model_states, "kv_cache_bytes": self.kv_cache,
                "logits_bytes": self.logits, "activations_bytes": self.activations, "peak_bytes": self.peak,
                "distribution": self.distribution.__dict__, "workload": self.workload.__dict__,
                "missing": [dict(role=role, reason=reason) for role, reason in self.missing]}


def trained_states(params: int, weight_bytes: int, largest_layer: int, d: Distribution) -> tuple[int, int]:
    """(bytes on one GPU, bytes offloaded per rank) for the models the run trains: zero.py's ZeRO figures
    under DeepSpeed, else every rank holds weights, gradients and torch's two AdamW moments like the
    weights (one byte a moment for an 8-bit optimizer)."""
    if d.zero_stage is None:
        moments = 2 * params if d.optimizer_bits == 8 else 2 * weight_bytes
        return 2 * weight_bytes + moments, 0
    states = zero.trained_states(params, max(1, d.world_size), d.zero_stage, d.offload_optimizer, d.offload_params,
                                 largest_layer)
    return states.device_bytes, states.host_bytes


def frozen_states(params: int, weight_bytes: int, d: Distribution) -> tuple[int, int]:
    if d.zero_stage is None:
        return weight_bytes, 0
    states = zero.frozen_states(params, max(1, d.world_size), d.zero_stage, d.offload_params)
    return states.device_bytes, states.host_bytes


def device_plan(facts: Optional[SetupFacts], distribution: Distribution = Distribution(),
                workload: Workload = Workload()) -> DevicePlan:
    models: dict[str, ModelFacts] = {}
    missing = []
    for role in ROLES:
        model = facts.model(role) if facts is not None else None
        if model is not None and model.built:
            models[role] = model
        elif model is not None and model.status is Built.UNCHECKED:
            missing.append((role, model.reason))
    # PPO trains the policy and the value model as one engine; a role that is one of their objects (the
    # value model is the reward object) is trained in it, counted once, at the role that holds it.
    trained = {models[r].same_as or r for r in TRAINED if r in models}
    owners = [r for r in ROLES if r in models and not models[r].same_as]
    trained_roles = [r for r in owners if r in trained]
    trained_params = sum(models[r].params for r in trained_roles)
    largest = max((models[r].largest_layer for r in trained_roles), default=0)
    engine, engine_off = trained_states(trained_params, sum(_weights(models[r]) for r in trained_roles), largest,
                                        distribution)
    roles = []
    for role in ROLES:
        model = models.get(role)
        if model is None:
            continue
        shape = dict(dtype=model.dtype or "?", weight_bytes=_weights(model))
        if model.same_as:
            roles.append(RoleMemory(role, model.params, model.same_as in trained, 0, 0, model.same_as, **shape))
        elif role in trained:  # the engine's states shared out by parameters, for the table
            share = model.params / trained_params if trained_params else 0
            roles.append(RoleMemory(role, model.params, True, round(engine * share), round(engine_off * share),
                                    **shape))
        else:
            roles.append(RoleMemory(role, model.params, False,
                                    *frozen_states(model.params, _weights(model), distribution), **shape))
    policy = models.get("policy")
    kv = logits = activations = 0
    if policy is not None and policy.layers and policy.kv_heads and policy.head_dim:
        sequence = workload.query_length + workload.response_length
        act_bytes = 2 if distribution.zero_stage is not None else _bytes(policy)
        kv = 2 * policy.layers * workload.rollout_batch * sequence * policy.kv_heads * policy.head_dim * act_bytes
        logits = workload.rollout_batch * workload.response_length * (policy.vocab or 0) * 4
        hidden = policy.hidden or policy.kv_heads * policy.head_dim
        heads = policy.heads or policy.kv_heads
        per_layer = sequence * workload.train_batch * hidden * (
            2 if workload.gradient_checkpointing else 34 + 5 * heads * sequence / hidden)
        activations = int(per_layer * policy.layers * act_bytes / 2)
    return DevicePlan(tuple(roles), kv, logits, activations, distribution, workload, tuple(missing))


_UNITS = {"": 1, "b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def parse_size(text: str) -> int:
    """`80GiB`, `40 GB`, `81920MiB` → bytes; a bare number is GiB (how GPUs are sold and named)."""
    number, unit = text.strip(), ""
    while number and number[-1].isalpha():
        number, unit = number[:-1], number[-1] + unit
    try:
        value = float(number.strip())
    except ValueError:
        raise ValueError(f"not a memory size: {text!r} (e.g. 80GiB, 40GB)") from None
    unit = unit.lower()
    if unit not in _UNITS or value <= 0:
        raise ValueError(f"not a memory size: {text!r} (e.g. 80GiB, 40GB)")
    return int(value * (_UNITS[unit] if unit else GIB))


def _bytes(model: ModelFacts) -> int:
    return _DTYPE_BYTES.get(model.dtype or "", 4)


def _weights(model: ModelFacts) -> int:
    """The weights' bytes as the probe counted them (mixed dtypes included), else params × the dtype's size."""
    return model.bytes or model.params * _bytes(model)


def cheapest_fit(plan_for, distribution: Distribution, workload: Workload, gpu_bytes: int) -> Optional[str]:
    """The first change, cheapest first, after which `plan_for(distribution, workload)` fits."""
    if plan_for(distribution, workload).peak <= gpu_bytes:
        return None
    candidates = []
    if not workload.gradient_checkpointing:
        candidates.append(("gradient_checkpointing=True", distribution, replace(workload, gradient_checkpointing=True)))
    stage = distribution.zero_stage
    for higher in (2, 3):
        if stage is None or stage < higher:
            candidates.append((f"DeepSpeed ZeRO-{higher}", replace(distribution, zero_stage=higher), workload))
    if not distribution.offload_optimizer:
        candidates.append(("ZeRO-3 with the optimizer offloaded to the CPU",
                           replace(distribution, zero_stage=3, offload_optimizer=True), workload))
    if workload.rollout_batch > 1 or workload.train_batch > 1:
        smaller = replace(workload, rollout_batch=max(1, workload.rollout_batch // 2),
                          train_batch=max(1, workload.train_batch // 2))
        candidates.append(("half the per-device batch (local_rollout_forward_batch_size, per_device_train_batch_size)",
                           distribution, smaller))
    for what, d, w in candidates:
        if plan_for(d, w).peak <= gpu_bytes:
            return what
    return "none of: gradient checkpointing, ZeRO-2/3, offloading, a smaller batch; more or larger GPUs"

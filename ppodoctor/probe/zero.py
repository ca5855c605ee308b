"""Model states per rank under a launch: weights, gradients and AdamW's state of each role, at the
launch's world size, ZeRO stage and offload (the memory plan of one device is memory.py's).

Mixed-precision AdamW as DeepSpeed runs it (ZeRO, Rajbhandari et al. 2020, section 3): per trained
parameter a 16-bit weight (2 bytes) and gradient (2 bytes), and an fp32 copy of the weight, its two
moments and its fp32 gradient (4 + 4 + 4 + 4 bytes: the paper's K = 12 plus the fp32 gradient
partition DeepSpeed's own estimators count). Which of them each rank holds:

    stage 0 (DDP)   everything:                          2 + 2 + 16            bytes per parameter
    stage 1         the optimizer state partitioned:     2 + 2 + 16 / W
    stage 2         and the gradients:                   2 + (2 + 16) / W
    stage 3         and the weights:                     (2 + 16) / W  + the largest layer gathered
                                                         (4 bytes per its parameter)

At stage 3 the 16-bit gradient partition is reduced into the fp32 one and not counted apart, as
DeepSpeed's stage-3 estimator counts it (18 bytes per parameter over W).

Offloading the optimizer moves the 16 (and with it the 16-bit gradient partition, stage 2) to the
CPU; offloading the parameters (stage 3) leaves only the gathered layer on the device. These are
the figures of `estimate_zero2_model_states_mem_needs` / `estimate_zero3_model_states_mem_needs`
(tests/test_zero_plan.py compares them). Frozen roles (reference, reward) hold 16-bit weights only,
partitioned under stage 3 (TRL prepares them with the same DeepSpeed config). Activations, the
generation cache and DeepSpeed's communication buffers are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

HALF = 2  # bytes of a bf16/fp16 weight or gradient
FP32_STATES = 16  # fp32 weight, two AdamW moments, fp32 gradient
GATHERED = 4  # bytes per parameter of the layer ZeRO-3 gathers (DeepSpeed's estimate)


@dataclass(frozen=True)
class RankStates:
    """What one rank holds for one model, on its device and in host memory, in bytes."""

    device_bytes: int
    host_bytes: int


def trained_states(params: int, world: int, stage: int, offload_optimizer: bool = False,
                   offload_param: bool = False, largest_layer: int = 0) -> RankStates:
    """A trained model's states per rank (weights, gradients, optimizer) at ZeRO `stage`."""
    if world < 1 or stage not in (0, 1, 2, 3):
        raise ValueError(f"world size {world}, ZeRO stage {stage}")
    if stage == 0:
        return RankStates((HALF + HALF + FP32_STATES) * params, 0)
    if stage == 1:
        return RankStates(2 * HALF * params + (0 if offload_optimizer else FP32_STATES * params // world),
                          FP32_STATES * params // world if offload_optimizer else 0)
    if stage == 2:
        if offload_optimizer:
            return RankStates(HALF * params, (HALF + FP32_STATES) * params // world)
        return RankStates(HALF * params + (HALF + FP32_STATES) * params // world, 0)
    gathered = GATHERED * largest_layer
    if offload_param:
        return RankStates(gathered, (HALF + FP32_STATES) * params // world)
    if offload_optimizer:
        return RankStates(gathered + HALF * params // world, FP32_STATES * params // world)
    return RankStates(gathered + (HALF + FP32_STATES) * params // world, 0)


def frozen_states(params: int, world: int, stage: int, offload_param: bool = False) -> RankStates:
    """A frozen model's 16-bit weights per rank: whole below stage 3, partitioned at stage 3."""
    if stage == 3:
        share = HALF * params // world
        return RankStates(0, share) if offload_param else RankStates(share, 0)
    return RankStates(HALF * params, 0)

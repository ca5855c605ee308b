from __future__ import annotations

from typing import Optional

from ..setup.model import Origin
from ..types import MODEL_ROLES, WARNING, OperationKind, OriginKind, Role, ValueKind
from .base import Rule
from .common import new_api_applies


def _normalise_device(value) -> Optional[str]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"cuda:{value}"
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "cuda":
            return "cuda:0"
        if text.startswith(("cuda:", "cpu", "mps", "xpu")):
            return text
    if isinstance(value, dict) and set(value) == {""}:
        return _normalise_device(value[""])
    return None


def model_device(origin: Origin) -> Optional[str]:
    device = None
    keyword = origin.keyword("device_map")
    if keyword is not None and keyword.value.kind == ValueKind.LITERAL:
        device = _normalise_device(keyword.value.value)
    for operation in origin.operations:
        if operation.conditional or operation.kind != OperationKind.CALL:
            continue
        if operation.name == "cuda":
            device = _normalise_device(operation.args[0].value if operation.args else "cuda")
        elif operation.name == "cpu":
            device = "cpu"
        elif operation.name == "to" and operation.args and operation.args[0].kind == ValueKind.LITERAL:
            device = _normalise_device(operation.args[0].value) or device
    return device


class DevicePlacement(Rule):
    """The policy is sharded with `device_map="auto"`, or the models sit on different devices.

    Why it is wrong: PPOTrainer lets Accelerate place the policy and value models (wrapped
    together) and runs the reference and reward models beside them on the same device.
    `device_map="auto"` splits the policy over every visible GPU, which Accelerate refuses to train
    in distributed mode and which otherwise runs the training forward pass across devices; models
    pinned to different devices make the rollout fail with `Expected all tensors to be on the same
    device`.

    Fix: drop `device_map` and `.to(...)` calls on the models and let the trainer (Accelerate)
    place them; launch with `accelerate launch` for several GPUs.
    """

    code = "PPD304"
    name = "device-placement"
    severity = WARNING
    summary = "the policy is sharded with device_map='auto' or the models are on different devices"
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft", device_map="auto")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft").to("cuda:0")
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1).to("cuda:1")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft").to("cuda")
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1).to("cuda:0")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        policy = setup.role(Role.POLICY)
        if policy is not None:
            keyword = policy.origin.keyword("device_map")
            if keyword is not None and keyword.value.kind == ValueKind.LITERAL and keyword.value.value in (
                    "auto", "balanced", "balanced_low_0", "sequential"):
                yield self.report(
                    f"the policy is loaded with device_map={keyword.value.text}, which shards it across GPUs: "
                    "PPO trains it, and Accelerate cannot train a sharded model in distributed mode; drop "
                    "device_map and let the trainer place the models",
                    keyword.span or policy.value_span, setup,
                )
                return
        devices = {}
        for role in MODEL_ROLES:
            binding = setup.role(role)
            if binding is not None and binding.origin.kind != OriginKind.NONE:
                device = model_device(binding.origin)
                if device is not None:
                    devices[role] = (device, binding)
        if len({device for device, _ in devices.values()}) < 2:
            return
        first_device = next(iter(devices.values()))[0]
        odd_binding = next(b for d, b in devices.values() if d != first_device)
        listing = ", ".join(f"{role} on {device}" for role, (device, _) in devices.items())
        yield self.report(
            f"the models are placed on different devices ({listing}): the rollout fails with `Expected all "
            "tensors to be on the same device`; let the trainer place them", odd_binding.value_span, setup,
        )

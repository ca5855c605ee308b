"""The worker's TRL half: the contract PPOTrainer enforces, checked with TRL's own code on meta models.

Runs inside the user's interpreter (see worker.py). Where that TRL has PPO (0.12 - 1.12) the checks
call its `disable_dropout_in_model`, `PolicyAndValueWrapper` and `get_reward`; elsewhere built-in
equivalents that do what those did.
"""

from __future__ import annotations

import inspect

from worker import check_result, error_text

_TRAINER_MODULES = ("trl.experimental.ppo.ppo_trainer", "trl.trainer.ppo_trainer")


def trl_parts() -> dict:
    for module_name in _TRAINER_MODULES:
        try:
            module = __import__(module_name, fromlist=["PPOTrainer"])
        except Exception:
            continue
        parts = {name: getattr(module, name, None) for name in
                 ("PPOTrainer", "PolicyAndValueWrapper", "get_reward", "disable_dropout_in_model")}
        if all(parts.values()):
            parts["module"] = module_name
            return parts
    return {"module": None, "PPOTrainer": None, "PolicyAndValueWrapper": BuiltinWrapper,
            "get_reward": builtin_get_reward, "disable_dropout_in_model": builtin_disable_dropout}


def builtin_disable_dropout(model) -> None:
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0


class BuiltinWrapper:
    """What PolicyAndValueWrapper did in TRL 0.12 - 1.12, for interpreters without it."""

    def __init__(self, policy, value_model) -> None:
        self.policy, self.value_model = policy, value_model
        self.critic_backbone = getattr(value_model, value_model.base_model_prefix)

    def __call__(self, **kwargs):
        output = self.critic_backbone(**kwargs)
        return self.policy(**kwargs), self.value_model.score(output.hidden_states[-1])


def builtin_get_reward(model, query_responses, pad_token_id, context_length):
    import torch

    attention_mask = query_responses != pad_token_id
    position_ids = attention_mask.cumsum(1) - attention_mask.long()
    backbone = getattr(model, model.base_model_prefix)
    output = backbone(input_ids=torch.masked_fill(query_responses, ~attention_mask, 0),
                      attention_mask=attention_mask, position_ids=position_ids, return_dict=True,
                      output_hidden_states=True, use_cache=False)
    return model.score(output.hidden_states[-1])


def allow_meta_autocast() -> None:
    """Lets `torch.autocast("meta", enabled=False)` be the no-op it means.

    Llama's rotary embedding (transformers 4.x) opens one; torch refuses the meta device type there,
    an error real training never meets. The worker is a throwaway process, so patching is contained.
    """
    import contextlib

    import torch

    original = torch.autocast
    if getattr(original, "_ppodoctor_meta", False):
        return

    class MetaTolerantAutocast(original):
        _ppodoctor_meta = True

        def __new__(cls, device_type, *args, **kwargs):
            if device_type == "meta":
                return contextlib.nullcontext()
            return super().__new__(cls)

    torch.autocast = MetaTolerantAutocast


def meta_artifact(error: BaseException) -> bool:
    """Errors that only the meta device causes; they say nothing about the setup."""
    text = str(error).lower()
    return isinstance(error, NotImplementedError) or "meta" in text and "tensor" in text


def attempt(action, scored=None) -> dict:
    """Runs one TRL step; `scored` is the model whose `.score` the step reads after its forward pass."""
    try:
        action()
    except MemoryError:
        raise
    except Exception as error:
        if meta_artifact(error) and scored is not None and not hasattr(scored, "score"):
            # TRL would get past the forward pass on real tensors and then fail here.
            return check_result("fail", error=f"AttributeError: '{type(scored).__name__}' object has no "
                                              "attribute 'score'")
        if meta_artifact(error):
            return check_result("unchecked", reason=f"the meta device cannot run this step ({error_text(error)})")
        return check_result("fail", error=error_text(error))
    return check_result("pass")


def signature_check(setup: dict, trainer) -> dict:
    """Binds the call's argument names to this TRL's PPOTrainer.__init__, as Python will."""
    if trainer is None:
        return check_result("unchecked", reason="this interpreter's TRL has no PPOTrainer")
    if setup.get("unresolved_star") or any(a.get("star") for a in setup.get("arguments", ())):
        return check_result("unchecked", reason="the call unpacks arguments the probe cannot see")
    positional = [a for a in setup["arguments"] if a.get("keyword") is None]
    keywords = {a["keyword"]: None for a in setup["arguments"] if a.get("keyword")}
    try:
        signature = inspect.signature(trainer.__init__)
        signature.bind(None, *([None] * len(positional)), **keywords)
    except TypeError as error:
        return check_result("fail", error=f"TypeError: PPOTrainer.__init__(): {error}")
    except ValueError as error:
        return check_result("unchecked", reason=error_text(error))
    return check_result("pass")


def needs(models: dict, *roles: str):
    for role in roles:
        if models[role]["status"] == "unchecked":
            return check_result("unchecked", reason=f"the {role} model: {models[role]['reason']}")
    return None


def run_checks(setup: dict, built: dict, models: dict, tokenizer, versions: dict) -> dict:
    import torch

    allow_meta_autocast()
    parts = trl_parts()
    trl_version = versions.get("trl") or "0"
    checks = {"trl_module": parts["module"], "signature": signature_check(setup, parts["PPOTrainer"])}
    policy, reference = built.get("policy"), built.get("reference")
    value, reward = built.get("value"), built.get("reward")
    if "policy" in built and "reference" in built and policy is not None:
        checks["same_object"] = check_result("fail" if policy is reference else "pass",
                                             error="ValueError: `model` and `ref_model` cannot be the same object"
                                             if policy is reference else "")
    else:
        checks["same_object"] = needs(models, "policy", "reference") or check_result("unchecked",
                                                                                     reason="no reference model")
    old_loop = tuple(int(p) for p in trl_version.split(".")[:2] if p.isdigit()) < (0, 13)

    def dropout():
        # TRL 0.12 walks all four models unguarded; later releases skip a None.
        for module in (policy, reference, value, reward):
            if module is not None or old_loop:
                parts["disable_dropout_in_model"](module)

    checks["dropout"] = needs(models, "policy", "reference", "value", "reward") or attempt(dropout)
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = 0 if pad_id is None else pad_id
    ids = torch.zeros((2, 6), dtype=torch.long, device="meta")
    attention_mask = ids != pad_id
    inputs = dict(input_ids=torch.masked_fill(ids, ~attention_mask, 0), attention_mask=attention_mask,
                  position_ids=attention_mask.cumsum(1) - attention_mask.long(), return_dict=True,
                  output_hidden_states=True)

    def wrapper():
        parts["PolicyAndValueWrapper"](policy, value)(**inputs)

    checks["generation_config"] = needs(models, "policy") or check_result(
        "pass" if hasattr(policy, "generation_config") else "fail",
        error="" if hasattr(policy, "generation_config") else
        f"AttributeError: '{type(policy).__name__}' object has no attribute 'generation_config'")
    checks["wrapper"] = needs(models, "policy", "value") or attempt(wrapper, value)
    for name, model in (("reward", reward), ("value", value)):
        if models[name]["status"] in ("none", "absent"):
            checks[f"{name}_get_reward"] = check_result("unchecked", reason=f"no {name} model")
            continue
        checks[f"{name}_get_reward"] = needs(models, name) or attempt(
            lambda model=model: parts["get_reward"](model, ids, pad_id, 3), model)
    return checks

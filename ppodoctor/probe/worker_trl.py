"""The worker's TRL half: the contract PPOTrainer enforces, checked with TRL's own code on meta models.

Runs inside the user's interpreter (see worker.py). Where that TRL has PPO (0.12 - 1.12) the checks
call its `disable_dropout_in_model`, `PolicyAndValueWrapper` and `get_reward`; elsewhere built-in
equivalents that do what those did.
"""

from __future__ import annotations

import inspect

from probe_checks import TRL_MODULE, Built, Check, Status
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
            return check_result(Status.FAIL, error=f"AttributeError: '{type(scored).__name__}' object has no "
                                              "attribute 'score'")
        if meta_artifact(error):
            return check_result(Status.UNCHECKED, reason=f"the meta device cannot run this step ({error_text(error)})")
        return check_result(Status.FAIL, error=error_text(error))
    return check_result(Status.PASS)


def call_keywords(setup: dict):
    """The keyword names the call passes (visible `**mappings` included), or None if some are hidden."""
    if setup.get("unresolved_star"):
        return None
    names = []
    for argument in setup["arguments"]:
        if argument.get("star") == "**":
            expanded = argument.get("expanded")
            if expanded is None:
                return None
            names.extend(expanded)
        elif argument.get("star"):
            return None
        elif argument.get("keyword"):
            names.append(argument["keyword"])
    return names


def signature_check(setup: dict, trainer) -> dict:
    """Calls a stand-in with PPOTrainer.__init__'s exact signature the way the script calls the real
    one, so a wrong call raises Python's own TypeError, word for word; and says what is wrong."""
    if trainer is None:
        return check_result(Status.UNCHECKED, reason="this interpreter's TRL has no PPOTrainer")
    keywords = call_keywords(setup)
    if keywords is None:
        return check_result(Status.UNCHECKED, reason="the call unpacks arguments the probe cannot see")
    positional = sum(1 for a in setup["arguments"] if a.get("keyword") is None and not a.get("star"))
    try:
        signature = inspect.signature(trainer.__init__)
    except (TypeError, ValueError) as error:
        return check_result(Status.UNCHECKED, reason=error_text(error))
    parameters = list(signature.parameters.values())
    plain = [p.replace(annotation=inspect.Parameter.empty,
                       default=None if p.default is not inspect.Parameter.empty else inspect.Parameter.empty)
             for p in parameters]
    namespace: dict = {}
    exec(f"def __init__{signature.replace(parameters=plain, return_annotation=inspect.Signature.empty)}: pass",
         namespace)
    stand_in = namespace["__init__"]
    stand_in.__qualname__ = f"{type(trainer).__name__ if not isinstance(trainer, type) else trainer.__name__}.__init__"
    result = check_result(Status.PASS)
    try:
        stand_in(None, *([None] * positional), **{name: None for name in keywords})
    except TypeError as error:
        result = check_result(Status.FAIL, error=f"TypeError: {error}")
    by_name = {p.name: p for p in parameters[1:]}
    ordered = [p.name for p in parameters[1:] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)
    filled = set(ordered[:positional]) | set(keywords)
    result["unexpected"] = [name for name in keywords if name not in by_name and not var_keyword]
    result["multiple"] = [name for name in keywords if name in ordered[:positional]]
    result["missing"] = [p.name for p in parameters[1:] if p.default is inspect.Parameter.empty
                         and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in filled]
    result["positional_names"] = ordered[:positional]
    return result


def needs(models: dict, *roles: str):
    for role in roles:
        if models[role]["status"] == Built.UNCHECKED:
            return check_result(Status.UNCHECKED, reason=f"the {role} model: {models[role]['reason']}")
    return None


def batch_check(config: dict) -> dict:
    """TRL's batch arithmetic in __init__ (one process): the batch must split into num_mini_batches."""
    if config.get("status") != Status.PASS:
        return check_result(Status.UNCHECKED, reason="the config was not built")
    if config.get("num_mini_batches") is None:
        return check_result(Status.UNCHECKED, reason="this PPOConfig has no num_mini_batches")
    hidden = [name for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "num_mini_batches")
              if name in config.get("unseen", ())]
    if hidden or config.get("partial"):
        return check_result(Status.UNCHECKED, reason="the batch sizes are not all visible: " + ", ".join(hidden or ["**"]))
    local = config["per_device_train_batch_size"] * config["gradient_accumulation_steps"]
    minis = config["num_mini_batches"]
    if minis <= 0 or local % minis:
        ratio = local / minis if minis else float("inf")
        return check_result(Status.FAIL, error=f"ValueError: `batch_size` must be a multiple of `num_mini_batches`, "
                                          f"inexact division: {local} / {minis} = {ratio}")
    if config.get("whiten_rewards") and local // minis < 8:
        return check_result(Status.FAIL, error=f"AssertionError: Per-rank minibatch size {local // minis} is insufficient "
                                          "for whitening")
    return check_result(Status.PASS)


def generation_config_check(policy) -> dict:
    """TRL sets the stop token on `policy.generation_config` in __init__: a model that cannot generate
    has none (transformers 5: no attribute; 4.x: None, and TRL reads `None.eos_token_id`)."""
    if not hasattr(policy, "generation_config"):
        return check_result(Status.FAIL, error=f"AttributeError: '{type(policy).__name__}' object has no attribute "
                                          "'generation_config'")
    if policy.generation_config is None:
        return check_result(Status.FAIL, error="AttributeError: 'NoneType' object has no attribute 'eos_token_id'")
    return check_result(Status.PASS)


def logits_check(models: dict, role: str, model, inputs: dict) -> dict:
    """The first rollout runs the policy and the reference as TRL's `forward` does and reads per-token
    `.logits` (the update runs the policy so again)."""
    if models[role]["status"] in (Built.NONE, Built.ABSENT):
        return check_result(Status.UNCHECKED, reason=f"no {role} model")

    def forward():
        logits = model(**inputs).logits
        if logits.dim() != 3:
            raise ValueError(f"the {role} model's logits have shape {list(logits.shape)}: one score per "
                             "sequence, not one per token")

    return needs(models, role) or attempt(forward)  # one not built: the reason it was not


def reward_not_trained_check(models: dict, wrapper_class, policy, value, reward) -> dict:
    """PPO's optimizer takes the trainable parameters of PolicyAndValueWrapper(policy, value): a reward
    model that shares them (the value model is the reward object) is trained with the critic, silently."""
    for role in ("reward", "value"):
        if models[role]["status"] in (Built.NONE, Built.ABSENT):
            return check_result(Status.UNCHECKED, reason=f"no {role} model")
    unbuilt = needs(models, "policy", "value", "reward")
    if unbuilt is not None:
        return unbuilt
    try:
        wrapper = wrapper_class(policy, value)
    except Exception as error:
        return check_result(Status.UNCHECKED, reason=f"PolicyAndValueWrapper(policy, value) fails: {error_text(error)}")
    # TRL's own wrapper is a torch module; the built-in stand-in holds the same two models.
    holders = [wrapper] if hasattr(wrapper, "parameters") else [policy, value]
    trained = {id(p) for holder in holders if holder is not None for p in holder.parameters() if p.requires_grad}
    tensors = list(reward.parameters())
    shared = sum(1 for p in tensors if id(p) in trained)
    if shared:
        return check_result(Status.FAIL, error=f"{shared} of the reward model's {len(tensors)} parameter tensors are "
                                               "among those PPO's optimizer updates (PolicyAndValueWrapper(policy, "
                                               "value).parameters()): every update changes the reward model")
    return check_result(Status.PASS)


def run_checks(setup: dict, built: dict, models: dict, tokenizer, versions: dict, config: dict) -> dict:
    import torch

    allow_meta_autocast()
    parts = trl_parts()
    trl_version = versions.get("trl") or "0"
    checks = {TRL_MODULE: parts["module"], Check.SIGNATURE: signature_check(setup, parts["PPOTrainer"]),
              Check.CONFIG: config, Check.BATCH: batch_check(config)}
    policy, reference = built.get("policy"), built.get("reference")
    value, reward = built.get("value"), built.get("reward")
    if "policy" in built and "reference" in built and policy is not None:
        checks[Check.SAME_OBJECT] = check_result(Status.FAIL if policy is reference else Status.PASS,
                                             error="ValueError: `model` and `ref_model` cannot be the same object"
                                             if policy is reference else "")
    else:
        checks[Check.SAME_OBJECT] = needs(models, "policy", "reference") or check_result(Status.UNCHECKED,
                                                                                     reason="no reference model")
    old_loop = tuple(int(p) for p in trl_version.split(".")[:2] if p.isdigit()) < (0, 13)

    def dropout():
        # TRL 0.12 walks all four models unguarded; later releases skip a None.
        for module in (policy, reference, value, reward):
            if module is not None or old_loop:
                parts["disable_dropout_in_model"](module)

    checks[Check.DROPOUT] = needs(models, "policy", "reference", "value", "reward") or attempt(dropout)
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = 0 if pad_id is None else pad_id
    ids = torch.zeros((2, 6), dtype=torch.long, device="meta")
    attention_mask = ids != pad_id
    inputs = dict(input_ids=torch.masked_fill(ids, ~attention_mask, 0), attention_mask=attention_mask,
                  position_ids=attention_mask.cumsum(1) - attention_mask.long(), return_dict=True,
                  output_hidden_states=True)

    def wrapper():
        parts["PolicyAndValueWrapper"](policy, value)(**inputs)

    checks[Check.GENERATION_CONFIG] = needs(models, "policy") or generation_config_check(policy)
    for role, generating in (("policy", policy), ("reference", reference)):
        checks[Check.logits(role)] = logits_check(models, role, generating, inputs)
    checks[Check.WRAPPER] = needs(models, "policy", "value") or attempt(wrapper, value)
    checks[Check.REWARD_NOT_TRAINED] = reward_not_trained_check(models, parts["PolicyAndValueWrapper"], policy, value,
                                                                reward)
    for name, model in (("reward", reward), ("value", value)):
        if models[name]["status"] in (Built.NONE, Built.ABSENT):
            checks[Check.get_reward(name)] = check_result(Status.UNCHECKED, reason=f"no {name} model")
            continue
        checks[Check.get_reward(name)] = needs(models, name) or attempt(
            lambda model=model: parts["get_reward"](model, ids, pad_id, 3), model)
    return checks

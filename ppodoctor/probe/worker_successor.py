"""The worker's half for `ppodoctor migrate`: a ported script's RLOOTrainer / GRPOTrainer call, checked
with this interpreter's TRL before the port is written.

Runs inside the user's interpreter (see worker.py): standard library, torch, transformers and trl
only. For each new trainer call (ppodoctor.migrate.calls.SuccessorCall as a dict) it checks, in order:
- import: `from trl import <Trainer>, <Config>` works here;
- signature: the call's keywords bind to `<Trainer>.__init__` (none unknown, none required missing);
- config: `<Config>(...)` with the call's literal values runs its own checks (num_generations,
  generation batch divisibility, bf16 on this machine, ...);
- models: the policy and each reward model build on the meta device from their configs; the policy
  can generate (a causal LM), a reward model is a sequence classifier with one label whose
  `logits[:, 0]` the trainer reads; their vocabularies hold every id the tokenizer makes.
Each check is "pass", "fail" (with TRL's or torch's error) or "unchecked" (with the reason).
"""

from __future__ import annotations

import inspect
import tempfile
import warnings

from probe_checks import Built, Status
from worker import check_result, error_text, keyword_map

_FUNCTION = "function"
# Config fields whose values the config's own checks read: a non-literal one leaves them unchecked.
_CHECKED_FIELDS = ("per_device_train_batch_size", "gradient_accumulation_steps", "steps_per_generation",
                   "generation_batch_size", "num_generations", "bf16", "fp16", "use_cpu", "no_cuda",
                   "auto_find_batch_size", "do_eval", "eval_strategy", "per_device_eval_batch_size",
                   "num_generations_eval")
_CONFIGS = {"RLOOTrainer": "RLOOConfig", "GRPOTrainer": "GRPOConfig"}


def classes(trainer: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import trl

        return getattr(trl, trainer), getattr(trl, _CONFIGS[trainer])


def signature_check(call: dict, trainer_class) -> dict:
    if call.get("star"):
        return check_result(Status.UNCHECKED, reason="the call unpacks arguments the probe cannot see")
    parameters = list(inspect.signature(trainer_class.__init__).parameters.values())[1:]
    names = [p.name for p in parameters]
    unknown = [k for k in call["keywords"] if k not in names]
    if unknown:
        return check_result(Status.FAIL, error=f"TypeError: {trainer_class.__name__}.__init__() got an unexpected "
                                          f"keyword argument '{unknown[0]}'")
    given = set(call["keywords"]) | set(names[: call.get("positional", 0)])
    missing = [p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in given]
    if missing:
        return check_result(Status.FAIL, error=f"TypeError: {trainer_class.__name__}.__init__() missing 1 required "
                                          f"positional argument: '{missing[0]}'")
    return check_result(Status.PASS)


def config_check(call: dict, config_class) -> dict:
    origin = call.get("config")
    if origin is None:
        return check_result(Status.UNCHECKED, reason="no `args=`: the trainer builds a default config")
    if origin["kind"] != "constructor" or not origin.get("class_name", "").endswith(config_class.__name__):
        return check_result(Status.UNCHECKED, reason=f"`args=` is not a visible {config_class.__name__}(...) call")
    if origin.get("partial"):
        return check_result(Status.UNCHECKED, reason=f"{config_class.__name__} gets keywords from a mapping the probe "
                                                "cannot see")
    given, skipped = {}, []
    for name, value in keyword_map(origin).items():
        if value["kind"] == "literal":
            given[name] = value["value"]
        elif name in _CHECKED_FIELDS:
            return check_result(Status.UNCHECKED, reason=f"`{name}={value.get('text')}` is not a literal, and the "
                                                    "config's checks read it")
        else:
            skipped.append(name)
    if isinstance(given.get("reward_clip_range"), list):
        given["reward_clip_range"] = tuple(given["reward_clip_range"])
    with tempfile.TemporaryDirectory() as out:
        given.update(output_dir=out, report_to="none")
        try:
            config = config_class(**given)
        except TypeError as error:
            return check_result(Status.FAIL, error=error_text(error))
        except Exception as error:
            return check_result(Status.FAIL, error=error_text(error))
    result = check_result(Status.PASS)
    result["facts"] = {k: getattr(config, k, None) for k in
                       ("num_generations", "generation_batch_size", "steps_per_generation", "beta",
                        "num_iterations", "max_completion_length", "bf16", "max_steps")}
    if skipped:
        result["reason"] = "not literals, left out: " + ", ".join(skipped)
    return result


def model_checks(call: dict, resolver, tokenizer_facts: dict) -> list:
    import torch

    from worker_models import Unresolved, build_model

    checks = []
    needed = tokenizer_facts.get("needed_vocab") if tokenizer_facts.get("status") == Built.BUILT else None
    policy = call.get("model")
    if policy is None:
        checks.append(("policy", check_result(Status.UNCHECKED, reason="no `model=`")))
    else:
        try:
            model, _source = build_model(policy, resolver)
        except Unresolved as error:
            checks.append(("policy", check_result(Status.UNCHECKED, reason=str(error))))
        except Exception as error:
            checks.append(("policy", check_result(Status.FAIL, error=error_text(error))))
        else:
            if getattr(model, "generation_config", None) is None or not hasattr(model, "generate"):
                checks.append(("policy", check_result(Status.FAIL, error=f"AttributeError: '{type(model).__name__}' "
                                                                    "object has no attribute 'generation_config'")))
            else:
                checks.append(("policy", _vocabulary(model, needed, "policy")))
    for index, reward in enumerate(call.get("rewards") or ()):
        label = f"reward {index + 1}"
        if reward["kind"] == _FUNCTION:
            checks.append((label, check_result(Status.PASS, reason=f"`{reward.get('text')}` is a reward function")))
            continue
        if reward["kind"] == "literal" and isinstance((reward.get("path") or {}).get("value"), str):
            reward = dict(reward, kind="from_pretrained", class_name="AutoModelForSequenceClassification",
                          keywords=[{"name": "num_labels", "value": {"kind": "literal", "value": 1, "text": "1"}}])
        try:
            model, _source = build_model(reward, resolver)
        except Unresolved as error:
            checks.append((label, check_result(Status.UNCHECKED, reason=str(error))))
            continue
        except Exception as error:
            checks.append((label, check_result(Status.FAIL, error=error_text(error))))
            continue
        labels = getattr(getattr(model, "config", None), "num_labels", None)
        if not type(model).__name__.endswith("ForSequenceClassification"):
            checks.append((label, check_result(Status.FAIL, error=f"{type(model).__name__} is not a sequence classifier: "
                                                             "its logits are per token, the trainer reads "
                                                             "`logits[:, 0]` per completion")))
            continue
        if labels != 1:
            checks.append((label, check_result(Status.FAIL, error=f"num_labels={labels}: the trainer reads only the "
                                                             "first of its logits as the reward")))
            continue
        try:
            with torch.device("meta"):
                shape = tuple(model(input_ids=torch.zeros((2, 3), dtype=torch.long)).logits.shape)
        except Exception as error:  # the meta device runs less than real tensors do: not a verdict
            checks.append((label, check_result(Status.UNCHECKED, reason=f"the meta device cannot run its forward pass "
                                                                   f"({error_text(error)})")))
            continue
        if shape != (2, 1):
            checks.append((label, check_result(Status.FAIL, error=f"logits of shape {list(shape)}, not [batch, 1]")))
        else:
            checks.append((label, _vocabulary(model, needed, label)))
    return checks


def _vocabulary(model, needed, what: str) -> dict:
    embeddings = getattr(model, "get_input_embeddings", lambda: None)()
    size = getattr(embeddings, "num_embeddings", None)
    if needed is not None and size is not None and size < needed:
        return check_result(Status.FAIL, error=f"IndexError: index out of range in self (the {what} has {size} "
                                          f"embeddings, the tokenizer makes ids up to {needed - 1})")
    return check_result(Status.PASS)


def check_call(call: dict, resolver) -> dict:
    checks = []
    try:
        trainer_class, config_class = classes(call["trainer"])
    except Exception as error:
        checks.append(("import", check_result(Status.FAIL, error=error_text(error))))
        return {"checks": checks}
    checks.append(("import", check_result(Status.PASS)))
    checks.append(("signature", signature_check(call, trainer_class)))
    checks.append(("config", config_check(call, config_class)))
    from worker_tokenizer import build_tokenizer

    tokenizer_origin = call.get("tokenizer")
    roles = [{"role": "processing_class", "origin": tokenizer_origin}] if tokenizer_origin else []
    _tokenizer, tokenizer_facts = build_tokenizer({"roles": roles}, resolver)
    checks.extend(model_checks(call, resolver, tokenizer_facts))
    return {"checks": checks, "tokenizer": tokenizer_facts}


def respond(request: dict) -> dict:
    """Answers a {"task": "successor", "files": [{"script_dir", "calls": [...]}, ...]} request."""
    answer: dict = {"ok": False}
    try:
        import worker

        import worker_models

        answer["versions"] = worker.versions()
        answer["memory_cap"] = worker.cap_memory(int(request.get("memory_bytes", 8 << 30)))
        results = []
        for item in request["files"]:
            resolver = worker_models.Resolver(request, item["script_dir"])
            results.append([check_call(call, resolver) for call in item["calls"]])
        answer["files"] = results
        answer["ok"] = True
    except MemoryError:
        answer["error"] = "the probe ran out of its memory cap"
    except Exception as error:
        answer["error"] = error_text(error)
    import worker

    answer["peak_rss_bytes"] = worker.peak_rss()
    return answer

"""The worker's model half: resolve sources, build models on the meta device, run TRL's checks.

Imported by worker.py inside the user's interpreter (plain `import worker_models`), so it obeys the
same rule: the standard library, torch, transformers and trl only.
"""

from __future__ import annotations

import copy
import os

from probe_checks import Built
from worker import error_text, keyword_map

MODEL_ROLES = ("policy", "reference", "reward", "value")
_CONFIG_KEYWORDS = ("num_labels", "pad_token_id", "problem_type", "tie_word_embeddings")
_AUTO_BY_SUFFIX = (("ForSequenceClassification", "AutoModelForSequenceClassification"),
                   ("ForCausalLM", "AutoModelForCausalLM"), ("LMHeadModel", "AutoModelForCausalLM"))


class Unresolved(Exception):
    """A model or tokenizer the probe cannot build; its message is the reason."""


class Resolver:
    """Finds the small files (config, tokenizer, generation config) of a model source, offline by default."""

    def __init__(self, request: dict, script_dir: str = "") -> None:
        self.script_dir = script_dir or os.getcwd()
        self.cwd = request.get("cwd") or os.getcwd()
        self.model_paths = dict(request.get("model_paths") or {})
        self.online = bool(request.get("online"))
        self.trust_remote_code = bool(request.get("trust_remote_code"))
        self._configs: dict = {}

    def source(self, origin: dict) -> str:
        path = origin.get("path") or {}
        for key in (path.get("value"), path.get("text")):
            if isinstance(key, str) and key in self.model_paths:
                return self.model_paths[key]
        if path.get("kind") != "literal" or not isinstance(path.get("value"), str):
            shown = path.get("text") or "?"
            raise Unresolved(f"the model path `{shown}` is not a literal; map it with --model-path {shown}=DIR")
        name = path["value"]
        for base in (self.script_dir, self.cwd):
            candidate = os.path.join(base, os.path.expanduser(name))
            if os.path.isdir(candidate):
                return os.path.abspath(candidate)
        if name.startswith((".", "/", "~")) or name.count("/") > 1:
            raise Unresolved(f"`{name}` is not a directory next to the script or in the working directory")
        return name  # a hub id: the Hugging Face cache (or, with --online, the hub) must have its small files

    def remote_code(self, origin: dict) -> bool:
        value = keyword_map(origin).get("trust_remote_code")
        wanted = bool(value and value.get("kind") == "literal" and value.get("value") is True)
        return wanted and self.trust_remote_code

    def config(self, origin: dict, overrides: dict):
        from transformers import AutoConfig

        source = self.source(origin)
        key = (source, tuple(sorted(overrides.items())), self.remote_code(origin))
        if key not in self._configs:
            try:
                self._configs[key] = AutoConfig.from_pretrained(source, trust_remote_code=key[2], **overrides)
            except Exception as error:
                raise Unresolved(self.explain(source, origin, error))
        return copy.deepcopy(self._configs[key]), source

    def explain(self, source: str, origin: dict, error: Exception) -> str:
        wants_remote = "trust_remote_code" in str(error) or "custom code" in str(error)
        if wants_remote and not self.trust_remote_code:
            return f"`{source}` needs its own code; the probe runs it only with --trust-remote-code"
        if not self.online and not os.path.isdir(source):
            return f"`{source}` is not in the Hugging Face cache (offline; --online fetches its config, never weights)"
        return f"cannot read the config of `{source}`: {error_text(error)}"


def model_class(class_name: str):
    import transformers

    last = class_name.rsplit(".", 1)[-1]
    if "WithValueHead" in last:
        return None
    found = getattr(transformers, last, None)
    if found is None:
        raise Unresolved(f"`{last}` is not a transformers class the probe can build")
    return found


def dtype_of(origin: dict, config):
    import torch
    import transformers

    keywords = keyword_map(origin)
    value = keywords.get("dtype") or keywords.get("torch_dtype")
    name = None
    if value is not None:
        name = value.get("value") if value.get("kind") in ("literal", "name") else None
        if not isinstance(name, str):
            raise Unresolved(f"the dtype `{value.get('text')}` is not a literal")
        name = name.rsplit(".", 1)[-1]
    elif int(transformers.__version__.split(".")[0]) >= 5:
        name = "auto"  # transformers 5 loads in the checkpoint's dtype by default
    if name == "auto":
        saved = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
        name = str(saved).replace("torch.", "") if saved else "float32"
    dtype = getattr(torch, name or "float32", None)
    if not isinstance(dtype, torch.dtype):
        raise Unresolved(f"unknown dtype `{name}`")
    return dtype


def build_model(origin: dict, resolver: Resolver):
    """One model on the meta device, from its config alone."""
    import torch

    kind = origin["kind"]
    if kind in ("copy",) and origin.get("base"):
        return build_model(origin["base"], resolver)
    if kind == "peft":
        raise Unresolved("PEFT-wrapped models are not built by the probe")
    if kind != "from_pretrained":
        reason = origin.get("reason") or f"it is made by `{origin.get('text') or kind}`"
        raise Unresolved(f"the probe builds models from `from_pretrained` only; {reason}")
    overrides = {}
    for name, value in keyword_map(origin).items():
        if name in _CONFIG_KEYWORDS:
            if value["kind"] != "literal":
                raise Unresolved(f"`{name}={value.get('text')}` is not a literal")
            overrides[name] = value["value"]
    config, source = resolver.config(origin, overrides)
    cls = model_class(origin["class_name"])
    dtype = dtype_of(origin, config)
    with torch.device("meta"):
        if cls is None:
            from transformers import AutoModelForCausalLM

            wrapper = value_head_class()
            model = wrapper(AutoModelForCausalLM.from_config(config, attn_implementation="eager"))
        elif cls.__name__.startswith("Auto"):
            model = cls.from_config(config, attn_implementation="eager")
        else:
            model = cls._from_config(config, attn_implementation="eager")
    model.to(dtype)
    return model, source


def value_head_class():
    for module_name in ("trl.experimental.ppo", "trl"):
        try:
            return getattr(__import__(module_name, fromlist=["x"]), "AutoModelForCausalLMWithValueHead")
        except Exception:
            continue
    raise Unresolved("this TRL has no AutoModelForCausalLMWithValueHead")


def head_facts(model) -> dict:
    import torch

    for name in ("score", "classifier", "lm_head", "v_head"):
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
            width = linears[-1].out_features if linears else None
            return {"head": name, "head_width": width}
    return {"head": None, "head_width": None}


def shape_facts(config) -> dict:
    """What the generation cache and the logits buffer grow with: layers, key/value heads, head size."""
    text = getattr(config, "get_text_config", lambda: config)() if config is not None else None
    layers = getattr(text, "num_hidden_layers", None)
    hidden = getattr(text, "hidden_size", None)
    heads = getattr(text, "num_attention_heads", None)
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or (hidden // heads if hidden and heads else None)
    return {"layers": layers, "hidden": hidden, "heads": heads, "kv_heads": kv_heads, "head_dim": head_dim}


def model_facts(model, source: str) -> dict:
    facts = {"status": Built.BUILT, "source": source, "class": type(model).__name__}
    facts.update(head_facts(model))
    parameters = list(model.parameters())
    facts["params"] = sum(p.numel() for p in parameters)
    facts["bytes"] = sum(p.numel() * p.element_size() for p in parameters)
    facts["dtype"] = str(parameters[0].dtype).replace("torch.", "") if parameters else None
    embeddings = getattr(model, "get_input_embeddings", lambda: None)()
    facts["vocab"] = getattr(embeddings, "num_embeddings", None)
    # DeepSpeed's "largest layer" (ZeRO-3 gathers one module's own parameters at a time).
    facts["largest_layer"] = max((sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules()),
                                 default=0)
    config = getattr(model, "config", None)
    facts["shape"] = shape_facts(config)
    facts["num_labels"] = getattr(config, "num_labels", None)
    facts["architectures"] = list(getattr(config, "architectures", None) or [])
    facts["has_score"] = hasattr(model, "score")
    generation = getattr(model, "generation_config", None)
    facts["generation_config"] = None if generation is None else {
        k: getattr(generation, k, None) for k in ("eos_token_id", "pad_token_id", "bos_token_id")}
    return facts


from worker_tokenizer import build_tokenizer  # noqa: E402  (after the helpers it imports from us)
from worker_trl import run_checks  # noqa: E402


def probe_setup(setup: dict, resolver: Resolver, versions: dict, config: dict) -> dict:
    models, built, by_key = {}, {}, {}
    for binding in setup["roles"]:
        role, origin = binding["role"], binding["origin"]
        if role not in MODEL_ROLES:
            continue
        key = origin.get("key") or ""
        if origin["kind"] == "none":
            models[role], built[role] = {"status": Built.NONE}, None
            continue
        if key and key in by_key:
            other = by_key[key]
            if other in built:
                built[role] = built[other]
                models[role] = dict(models[other], same_as=other)
                continue
        try:
            model, source = build_model(origin, resolver)
        except Unresolved as error:
            models[role] = {"status": Built.UNCHECKED, "reason": str(error)}
        except MemoryError:
            raise
        except Exception as error:
            models[role] = {"status": Built.UNCHECKED, "reason": f"building it failed: {error_text(error)}"}
        else:
            built[role], models[role] = model, model_facts(model, source)
        if key:
            by_key.setdefault(key, role)
    for role in MODEL_ROLES:
        models.setdefault(role, {"status": Built.ABSENT})
    tokenizer, tokenizer_facts = build_tokenizer(setup, resolver)
    return {"models": models, "tokenizer": tokenizer_facts,
            "config": config, "checks": run_checks(setup, built, models, tokenizer, versions, config)}

"""The worker's half for RLOOTrainer / GRPOTrainer calls (trl >= 1.0), checked with this interpreter's TRL.

Runs inside the user's interpreter (see worker.py): standard library, torch, transformers and trl only.
For one group setup (the setup model's dict, `FileSetup.group_setups`) it builds what the trainer gets
and runs TRL's own code on it, never the user's script:
- signature: the call binds to `<Trainer>.__init__` (worker_trl.signature_check);
- config: `<Config>(...)` rebuilt from the call's literal keywords, so the config's own `__post_init__`
  checks run (the generation batch against `num_generations`, `num_generations >= 2`, precision on
  this machine); a keyword it does not have raises the real TypeError, and its other checks are run
  again without those keywords (`rest`), so a finding behind the TypeError is still judged;
- vllm: with `use_vllm`, the check TRL runs first when it starts vLLM (`VLLMGeneration._init_vllm`
  in trl 1.16; its `is_vllm_available` elsewhere);
- generation_config: the policy, built on the meta device, can generate;
- reward_models: each reward model entry built on the meta device (a path as TRL loads it:
  AutoModelForSequenceClassification with num_labels=1);
- reward_call: each reward function entry called by the trainer's own `_calculate_rewards` with the
  dataset's first rows (worker_rewards.py: the user's function is never run, a stand-in with its
  parameters takes its place);
- reward_processing_classes: the statements of `<Trainer>.__init__` that read only `reward_funcs` and
  `reward_processing_classes` (TRL's own lines, read from its source), run with the call's counts.
__init__ checks all of the last three only after loading the models: the probe runs the narrowest piece of
TRL's code that holds each check instead.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import tempfile
import textwrap
import types
import warnings
from typing import Optional

from probe_checks import TRL_MODULE, Built, Check, Status
from worker import check_result, error_text, keyword_map

_CLASSES = {"rloo": ("RLOOTrainer", "RLOOConfig"), "grpo": ("GRPOTrainer", "GRPOConfig")}
# Config fields whose values its own checks read: one the source does not show leaves them unchecked.
CHECKED_FIELDS = ("per_device_train_batch_size", "gradient_accumulation_steps", "steps_per_generation",
                  "generation_batch_size", "num_generations", "bf16", "fp16", "use_cpu", "no_cuda",
                  "auto_find_batch_size", "do_eval", "eval_strategy", "per_device_eval_batch_size",
                  "num_generations_eval")
_READBACK = ("num_generations", "generation_batch_size", "steps_per_generation", "per_device_train_batch_size",
             "gradient_accumulation_steps", "use_vllm", "bf16", "fp16", "use_cpu")
# What one reward function, model or tokenizer is as a single argument (anything else may be a list).
_ONE_OBJECT = ("function", "from_pretrained", "from_config", "constructor", "copy", "peft")


def classes(setup: dict):
    trainer, config = _CLASSES[setup["kind"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import trl

        return getattr(trl, trainer), getattr(trl, config)


def binding(setup: dict, role: str):
    return next((b for b in setup["roles"] if b["role"] == role), None)


def literal_text(origin: dict):
    """The value of a literal origin (`"models/rm"`), or None."""
    try:
        return ast.literal_eval(origin.get("text") or "")
    except (ValueError, SyntaxError):
        return None


# --- the config --------------------------------------------------------------------------------
def build_config(config_class, arguments: dict):
    with tempfile.TemporaryDirectory() as out:
        return config_class(**dict(arguments, output_dir=out))


def config_check(setup: dict, config_class) -> tuple[dict, object]:
    """The config TRL gets, built as the script builds it: (the check, the config or None)."""
    found = binding(setup, "config")
    if found is None:  # the trainer builds its defaults
        try:
            return dict(check_result(Status.PASS, reason="no `args=`: the trainer's default config"),
                        unexpected=[]), build_config(config_class, {"report_to": "none"})
        except Exception as error:
            return check_result(Status.UNCHECKED, reason=f"the default config fails here: {error_text(error)}"), None
    origin = found["origin"]
    if origin["kind"] != "constructor" or origin.get("class_name", "").rsplit(".", 1)[-1] != config_class.__name__:
        return check_result(Status.UNCHECKED, reason=f"the config is not a visible {config_class.__name__}(...) "
                                                     "call"), None
    if origin.get("partial") or origin.get("args"):
        return check_result(Status.UNCHECKED, reason=f"{config_class.__name__} gets arguments the probe cannot "
                                                     "see (a **mapping or positional ones)"), None
    fields = {f.name for f in dataclasses.fields(config_class) if f.init}
    given, unseen, unexpected = {}, [], []
    for name, value in keyword_map(origin).items():
        if name not in fields:
            unexpected.append(name)
        elif value["kind"] == "literal":
            given[name] = tuple(value["value"]) if name == "reward_clip_range" and isinstance(value["value"], list) \
                else value["value"]
        else:
            unseen.append(name)
    facts = {"given": given, "unseen": unseen, "unexpected": unexpected}
    hidden = [name for name in unseen if name in CHECKED_FIELDS]
    given.setdefault("report_to", "none")
    if unexpected:  # the dataclass's TypeError comes before any value is read: certain, whatever is hidden
        try:
            build_config(config_class, dict(given, **{name: None for name in unexpected}))
        except Exception as error:
            result = dict(check_result(Status.FAIL, error=error_text(error)), **facts)
            rest, config = _built(config_class, given, hidden)  # what the other steps read: the rest's
            return dict(result, rest=rest), config
    result, config = _built(config_class, given, hidden, _copied(origin, config_class, given))
    return dict(result, **facts), config


def _copied(origin: dict, config_class, given: dict) -> Optional[tuple[dict, dict]]:
    """For a config made by `dataclasses.replace(base, **changes)` of a visible base with literal keywords:
    (the base's keywords, the changes); None for a config built directly (or a base the probe cannot see)."""
    base = origin.get("base") or {}
    if base.get("kind") != "constructor" or base.get("class_name", "").rsplit(".", 1)[-1] != config_class.__name__ \
            or base.get("partial") or base.get("args"):
        return None
    own = keyword_map(base)
    if any(value["kind"] != "literal" for value in own.values()):
        return None
    written = dict({name: value["value"] for name, value in own.items()}, report_to=given.get("report_to", "none"))
    return written, {name: value for name, value in given.items() if name not in written or written[name] != value}


def _built(config_class, given: dict, hidden: list, copied: Optional[tuple[dict, dict]] = None) -> tuple[dict, object]:
    if hidden:
        return check_result(Status.UNCHECKED, reason=", ".join(f"`{name}`" for name in hidden) + " not literal: "
                                                     f"{config_class.__name__}'s checks read them"), None
    try:
        # a copy is made as the script makes it: the base built, then dataclasses.replace with the changes
        config = dataclasses.replace(build_config(config_class, copied[0]), **copied[1]) if copied \
            else build_config(config_class, given)
    except Exception as error:
        return check_result(Status.FAIL, error=error_text(error)), None
    return dict(check_result(Status.PASS), **{name: getattr(config, name, None) for name in _READBACK}), config


def vllm_check(config) -> dict:
    if config is None:
        return check_result(Status.UNCHECKED, reason="the config was not built")
    if not getattr(config, "use_vllm", False):
        return check_result(Status.PASS, reason="use_vllm is off")
    try:
        from trl.generation.vllm_generation import VLLMGeneration, is_vllm_available
    except ImportError:
        VLLMGeneration = None  # noqa: N806  (older TRL: the trainer module checks it itself)
        from trl.import_utils import is_vllm_available
    if is_vllm_available():
        return check_result(Status.PASS, reason="vLLM is installed")
    if VLLMGeneration is None:
        return check_result(Status.FAIL, error="ImportError: vLLM is not available and `use_vllm` is set to True.")
    try:  # its first step is this check: it raises before it reads anything of the skeleton
        VLLMGeneration._init_vllm(types.SimpleNamespace(model=None, accelerator=None, mode=config.vllm_mode))
    except ImportError as error:
        return check_result(Status.FAIL, error=error_text(error))
    except Exception as error:
        return check_result(Status.UNCHECKED, reason=f"VLLMGeneration._init_vllm: {error_text(error)}")
    return check_result(Status.UNCHECKED, reason="VLLMGeneration._init_vllm did not check for vLLM first")


# --- models ------------------------------------------------------------------------------------
def _from_path(origin: dict, class_name: str, labels=None):
    """A model id or path (a literal string) as the trainer loads it."""
    path = literal_text(origin)
    if not isinstance(path, str):
        return None
    keywords = [] if labels is None else [{"name": "num_labels", "value": {"kind": "literal", "value": labels,
                                                                           "text": str(labels)}}]
    return dict(kind="from_pretrained", class_name=class_name, keywords=keywords,
                path={"kind": "literal", "value": path, "text": origin.get("text")})


def build(origin: dict, resolver, as_path: dict = None):
    from worker_models import Unresolved, build_model, model_facts

    try:
        model, source = build_model(as_path or origin, resolver)
    except Unresolved as error:
        return None, {"status": Built.UNCHECKED, "reason": str(error)}
    except MemoryError:
        raise
    except Exception as error:
        return None, {"status": Built.UNCHECKED, "reason": f"building it failed: {error_text(error)}"}
    return model, model_facts(model, source, (as_path or origin)["kind"] != "from_pretrained")


def reward_entries(setup: dict) -> list:
    found = binding(setup, "reward_funcs")
    if found is None:
        return []
    return list(found["elements"]) if found.get("elements") is not None else [found["origin"]]


def reward_models_check(entries: list, resolver, models: dict) -> dict:
    facts, unbuilt = [], ""
    for index, origin in enumerate(entries):
        if origin["kind"] == "function" or origin.get("function"):
            continue  # a function, or a callable object of the file's own class: no model to build
        as_path = _from_path(origin, "AutoModelForSequenceClassification", 1) if origin["kind"] == "literal" else None
        if origin["kind"] == "literal" and as_path is None:
            unbuilt = unbuilt or f"reward_funcs[{index}] `{origin.get('text')}` is not a model path"
            continue
        _model, built = build(origin, resolver, as_path)
        models[f"reward_funcs[{index}]"] = built
        facts.append(dict(index=index, status=built["status"], num_labels=built.get("num_labels"),
                          reason=built.get("reason", "")))
        if built["status"] != Built.BUILT:
            unbuilt = unbuilt or f"reward_funcs[{index}]: {built.get('reason')}"
    if unbuilt:
        return dict(check_result(Status.UNCHECKED, reason=unbuilt), models=facts)
    if not facts:
        return check_result(Status.UNCHECKED, reason="no reward model")
    return dict(check_result(Status.PASS), models=facts)


def _count(found):
    """What the trainer gets for a list argument: a list of N placeholders, one object, None; or False when
    the source does not show it."""
    if found is None or found["origin"]["kind"] == "none":
        return None
    if found.get("elements") is not None:
        return [object() for _ in found["elements"]]
    origin = found["origin"]
    if origin["kind"] in _ONE_OBJECT or origin["kind"] == "literal" and isinstance(literal_text(origin), str):
        return object()
    return False


def reward_processing_classes_check(setup: dict, trainer_class) -> dict:
    values = {"reward_funcs": _count(binding(setup, "reward_funcs")),
              "reward_processing_classes": _count(binding(setup, "reward_processing_classes"))}
    unseen = [name for name, value in values.items() if value is False]
    if unseen:
        return check_result(Status.UNCHECKED, reason=f"`{unseen[0]}` is not a list or object the source shows")
    code = init_statements(trainer_class, set(values))
    if code is None:
        return check_result(Status.UNCHECKED, reason=f"{trainer_class.__name__}.__init__ has no check of these "
                                                     "alone that the probe can find")
    try:
        exec(code, {"__builtins__": __builtins__}, dict(values))
    except Exception as error:
        return check_result(Status.FAIL, error=error_text(error))
    return check_result(Status.PASS)


def init_statements(trainer_class, names: set):
    """The top-level statements of `trainer_class.__init__` that read some of `names` and nothing else but
    builtins, in their order, compiled from TRL's own source; None when there are none."""
    import builtins

    try:
        source = textwrap.dedent(inspect.getsource(trainer_class.__init__))
        where = inspect.getsourcefile(trainer_class.__init__) or "<trl>"
    except (OSError, TypeError):
        return None
    function = ast.parse(source).body[0]
    kept = []
    for statement in function.body:
        read = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
        if read & names and read <= names | set(dir(builtins)):
            kept.append(statement)
    return compile(ast.Module(body=kept, type_ignores=[]), where, "exec") if kept else None


# --- one setup ---------------------------------------------------------------------------------
def probe_group_setup(setup: dict, resolver) -> dict:
    from worker_rewards import reward_call_check
    from worker_tokenizer import build_tokenizer
    from worker_trl import generation_config_check, needs, signature_check

    try:
        trainer_class, config_class = classes(setup)
    except Exception as error:
        reason = f"this interpreter's TRL has no {_CLASSES[setup['kind']][0]}: {error_text(error)}"
        return {"models": {}, "checks": {TRL_MODULE: None, Check.SIGNATURE: check_result(Status.UNCHECKED,
                                                                                          reason=reason)}}
    config_result, config = config_check(setup, config_class)
    models = {}
    policy_binding = binding(setup, "policy")
    policy = None
    if policy_binding is None:
        models["policy"] = {"status": Built.ABSENT}
    else:
        origin = policy_binding["origin"]
        as_path = _from_path(origin, "AutoModelForCausalLM") if origin["kind"] == "literal" else None
        policy, models["policy"] = build(origin, resolver, as_path)
    entries = reward_entries(setup)
    _tokenizer, tokenizer_facts = build_tokenizer(setup, resolver)
    checks = {TRL_MODULE: trainer_class.__module__, Check.SIGNATURE: signature_check(setup, trainer_class),
              Check.CONFIG: config_result, Check.VLLM: vllm_check(config),
              Check.GENERATION_CONFIG: needs(models, "policy") or (generation_config_check(policy) if policy is not None
                                                                   else check_result(Status.UNCHECKED,
                                                                                     reason="no policy")),
              Check.REWARD_MODELS: reward_models_check(entries, resolver, models),
              Check.REWARD_CALL: reward_call_check(setup, trainer_class, config_class, config, entries),
              Check.REWARD_PROCESSING_CLASSES: reward_processing_classes_check(setup, trainer_class)}
    return {"models": models, "tokenizer": tokenizer_facts, "config": config_result, "checks": checks}

"""The worker's reward-function half for RLOOTrainer / GRPOTrainer (see worker_group.py).

Each reward function entry is called by the trainer's own `_calculate_rewards`, on a trainer object
that holds only what that method reads (one CPU process), with the training dataset's first rows
rebuilt from the source (worker_dataset.rebuild). The user's function is never run: a stand-in with
its exact parameters (names, kinds, defaults, as setup/signatures.py read them) that returns what its
visible `return`s give takes its place, so TRL's call raises Python's own TypeError for a signature
that cannot take it, and TRL's handling of the result fails as it would on a number or None.

Runs inside the user's interpreter (see worker.py): standard library, torch, transformers and trl only.
"""

from __future__ import annotations

import types

from probe_checks import Status
from worker import check_result, error_text
from worker_group import binding, build_config

_ROWS = 2  # the first rows the reward functions are called with


# --- reward functions --------------------------------------------------------------------------
def stand_in(shape: dict, batch: int):
    """A function with the reward function's parameters (names, kinds, defaults) that returns what its
    visible `return`s give (a number, None, else one float per completion) and notes that it ran."""
    parts, star = [], False
    for parameter in shape["parameters"]:
        kind, name = parameter["kind"], parameter["name"]
        if kind == "keyword_only" and not star:
            parts.append("*")
            star = True
        text = ("*" if kind == "var_positional" else "**" if kind == "var_keyword" else "") + name
        star = star or kind == "var_positional"
        if parameter.get("has_default") and kind not in ("var_positional", "var_keyword"):
            text += "=None"
        parts.append(text)
        if kind == "positional_only" and not any(p["kind"] == "positional_only"
                                                 for p in shape["parameters"][shape["parameters"].index(parameter) + 1:]):
            parts.append("/")
    returns = shape.get("returns") or []
    result = None if returns and all(r == "none" for r in returns) else 0.0 \
        if returns and all(r in ("scalar", "none") for r in returns) else [0.0] * batch
    reached: list = []
    namespace = {"_ppodoctor_reached": reached, "_ppodoctor_result": result}
    exec(f"def _stand_in({', '.join(parts)}):\n    _ppodoctor_reached.append(True)\n"
         f"    return _ppodoctor_result\n", namespace)
    function = namespace["_stand_in"]
    name = shape["name"]
    function.__code__ = function.__code__.replace(co_name=name, co_qualname=name) \
        if hasattr(function.__code__, "co_qualname") else function.__code__.replace(co_name=name)
    function.__name__ = function.__qualname__ = name
    return function, reached


def first_rows(setup: dict) -> tuple[list, str]:
    """The training dataset's first rows, rebuilt from the source (worker_dataset.rebuild), or ([], why)."""
    from worker_dataset import Unfollowed, rebuild

    found = binding(setup, "train_dataset")
    if found is None:
        return [], "no train_dataset"
    try:
        dataset = rebuild(found["origin"], {})
    except Unfollowed as why:
        return [], str(why)
    except Exception as error:
        return [], f"rebuilding the dataset fails: {error_text(error)}"
    return [dataset[i] for i in range(min(_ROWS, len(dataset)))], ""


def skeleton(trainer_class, config, function):
    """The trainer object `_calculate_rewards` reads, with only what it reads (one CPU process)."""
    import torch
    from transformers import TrainerState

    trainer = object.__new__(trainer_class)
    trainer.args, trainer.state, trainer.environments = config, TrainerState(), None
    trainer.accelerator = types.SimpleNamespace(device=torch.device("cpu"), is_main_process=True)
    trainer.reward_funcs, trainer.reward_processing_classes = [function], [None]
    trainer.reward_func_names = [function.__name__]
    return trainer


def reward_call_check(setup: dict, trainer_class, config_class, config, entries: list) -> dict:
    # a function, or an object the source shows a `__call__` of (its shape): TRL calls both alike
    functions = [(index, origin) for index, origin in enumerate(entries)
                 if origin["kind"] == "function" or origin.get("function")]
    if not functions:
        return check_result(Status.UNCHECKED, reason="no reward function")
    if config is None:  # the call reads only the logging options: TRL's defaults stand in for a broken config
        try:
            config = build_config(config_class, {"report_to": "none", "use_cpu": True, "bf16": False})
        except Exception as error:
            return check_result(Status.UNCHECKED, reason=f"no config to call it with: {error_text(error)}")
    if not hasattr(trainer_class, "_calculate_rewards"):
        return check_result(Status.UNCHECKED, reason=f"{trainer_class.__name__} has no _calculate_rewards")
    rows, why = first_rows(setup)
    columns = sorted(rows[0]) if rows else None
    results = [_call_one(trainer_class, config, index, origin, rows) for index, origin in functions]
    details = {"functions": results, "columns": columns, "rows_reason": why}
    failed = next((r for r in results if r["status"] == Status.FAIL), None)
    if failed is not None:
        return dict(check_result(Status.FAIL, error=failed["error"]), **details)
    unchecked = next((r for r in results if r["status"] == Status.UNCHECKED), None)
    if unchecked is not None:
        return dict(check_result(Status.UNCHECKED, reason=unchecked["reason"]), **details)
    return dict(check_result(Status.PASS), **details)


def _call_one(trainer_class, config, index: int, origin: dict, rows: list) -> dict:
    shape = origin.get("function")
    entry = {"index": index, "name": (shape or {}).get("name") or origin.get("text") or "", "status": Status.UNCHECKED,
             "error": "", "reason": ""}
    if not shape:
        return dict(entry, reason=f"`{origin.get('text')}`: its parameters are not visible")
    if shape.get("is_async"):
        return dict(entry, reason=f"`{shape['name']}` is async: TRL awaits it on its own event loop")
    batch = len(rows) or _ROWS
    function, reached = stand_in(shape, batch)
    inputs = [dict(row) for row in rows] or [{"prompt": "a"} for _ in range(batch)]
    prompts = [str(row.get("prompt", "")) for row in inputs]
    accepts_any = any(p["kind"] == "var_keyword" for p in shape["parameters"])
    try:
        trainer_class._calculate_rewards(skeleton(trainer_class, config, function), inputs, prompts,
                                         ["x"] * batch, [[0]] * batch)
    except MemoryError:
        raise
    except Exception as error:
        text = error_text(error)
        at_call = not reached and isinstance(error, TypeError) and str(error).startswith(f"{shape['name']}()")
        if not (reached or at_call):
            return dict(entry, reason=f"{trainer_class.__name__}._calculate_rewards could not run here: {text}")
        if not rows and "required" in str(error):
            return dict(entry, reason=f"{text}, but the dataset's columns are not visible ({entry['name']})")
        return dict(entry, status=Status.FAIL, error=text)
    if not rows and not accepts_any:
        return dict(entry, reason="the dataset's columns are not visible, and the function takes no **kwargs")
    return dict(entry, status=Status.PASS)

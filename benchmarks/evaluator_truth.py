"""What a PPO script really hands its trainer: the ground truth for benchmarks/evaluator_choice.py.

Run by the script's own era interpreter (standard library only at the top: .venv-trl012 has no
ppodoctor): `python evaluator_truth.py < jobs.json` imports TRL once, replaces the `__init__` of every
PPO trainer class TRL has (PPOTrainer, PPOv2Trainer, the experimental PPOTrainer) with a recorder,
then runs each script in a forked child as `python script.py` would (its directory as the working
directory). The recorder binds the call's arguments to TRL's own signature (positional ones too, and
what a subclass forwards), writes, per model role, the runtime class of the object, its identity
(which other roles hold the very same object) and its `config.num_labels`, and stops the script:
nothing is trained. It answers one JSON line: {script: record or {"error": why}}.
"""

from __future__ import annotations

import inspect
import json
import os
import runpy
import sys

# TRL's keyword for each role, in every era (0.11: model/ref_model; 0.12 PPOv2: policy/ref_policy).
ROLE_KEYWORDS = {"model": "policy", "policy": "policy", "ref_model": "reference", "ref_policy": "reference",
                 "reward_model": "reward", "value_model": "value"}


class Recorded(BaseException):
    """Raised by the recorder once the call is written: the script stops there."""


def _describe(bound: dict) -> dict:
    roles = {}
    for keyword, role in ROLE_KEYWORDS.items():
        if keyword not in bound:
            continue
        value = bound[keyword]
        if value is None:
            roles[role] = {"class": None}
            continue
        kind = type(value)
        config = getattr(value, "config", None)
        roles[role] = {"class": f"{kind.__module__}.{kind.__qualname__}", "id": id(value),
                       "num_labels": getattr(config, "num_labels", None)}
    by_id = {}
    for role, facts in roles.items():
        if "id" in facts:
            by_id.setdefault(facts.pop("id"), []).append(role)
    for group in by_id.values():
        for role in group:
            roles[role]["same_as"] = sorted(other for other in group if other != role)
    return roles


def _recorder(trainer_class, out: str):
    original = trainer_class.__init__
    signature = inspect.signature(original)

    def record(self, *args, **kwargs):
        try:
            bound = signature.bind_partial(self, *args, **kwargs).arguments
            extra = bound.pop(next((name for name, parameter in signature.parameters.items()
                                    if parameter.kind == parameter.VAR_KEYWORD), ""), {})
            result = {"trainer": trainer_class.__name__, "roles": _describe({**bound, **extra}),
                      "missing": sorted(set(ROLE_KEYWORDS) & set(signature.parameters) - set(bound))}
        except TypeError as error:  # the call does not fit this TRL's signature: no roles to tell
            result = {"trainer": trainer_class.__name__, "error": f"arguments do not bind: {error}"}
        with open(out, "w") as handle:
            json.dump(result, handle)
        raise Recorded()

    return record


def _trainer_classes() -> list:
    import importlib

    found = []
    for module, names in (("trl", ("PPOTrainer", "PPOv2Trainer")), ("trl.experimental.ppo", ("PPOTrainer",))):
        try:
            imported = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            try:
                trainer_class = getattr(imported, name)
            except (AttributeError, ImportError, RuntimeError):
                continue
            if isinstance(trainer_class, type) and trainer_class not in found:
                found.append(trainer_class)
    return found


def _child(script: str, out: str, classes: list) -> None:
    for trainer_class in classes:
        trainer_class.__init__ = _recorder(trainer_class, out)
    directory = os.path.dirname(os.path.abspath(script))
    os.chdir(directory)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.argv = [script]
    sys.path[0] = directory
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException:  # noqa: BLE001 - Recorded, or the script's own failure before its call
        pass
    os._exit(0)


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    classes = _trainer_classes()
    answers = {}
    for script in json.loads(sys.stdin.read()):
        out = script + ".truth.json"
        if os.path.exists(out):
            os.unlink(out)
        pid = os.fork()
        if pid == 0:
            _child(script, out, classes)
        os.waitpid(pid, 0)
        try:
            with open(out) as handle:
                answers[script] = json.load(handle)
        except (OSError, ValueError):
            answers[script] = {"error": "the script ended before any PPO trainer call"}
    print(json.dumps(answers))


if __name__ == "__main__":
    main()

"""The probe's worker: runs inside the interpreter that will run the training script.

It is started by path (`python .../worker.py`), not as part of ppodoctor, which that interpreter
may not have: it imports only the standard library, torch, transformers, trl and its sibling
`worker_models.py` / `worker_api.py`. `respond` turns one JSON request (setup models as plain dicts,
see ppodoctor.setup.model.to_json_dict) into one JSON answer: the warm worker (worker_server.py) calls
it once per request in a forked child; run as a script, it reads one request on stdin and writes
the answer on stdout. It builds models on the meta device from their configs, so no weights are
ever read, and calls TRL's own code on them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    sys.path.pop(0)  # the probe package's own files must not shadow the user's modules
sys.path.append(_HERE)

from probe_checks import Status  # noqa: E402  (a sibling: found through _HERE, appended above)


def error_text(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def check_result(status: Status, error: str = "", reason: str = "") -> dict:
    return {"status": status, "error": error, "reason": reason}


def versions() -> dict:
    import torch
    import transformers

    found = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__}
    try:
        import trl

        found["trl"] = trl.__version__
    except Exception as error:  # a broken TRL install is a fact to report, not a crash
        found["trl"] = None
        found["trl_error"] = error_text(error)
    return found


def accelerator() -> dict:
    import torch

    facts = {"cuda": False, "bf16_gpu": False, "name": "cpu"}
    try:
        if torch.cuda.is_available():
            facts.update(cuda=True, name=torch.cuda.get_device_name(0), bf16_gpu=bool(torch.cuda.is_bf16_supported()))
    except Exception as error:
        facts["error"] = error_text(error)
    return facts


def ppo_config_class():
    for module_name in ("trl.experimental.ppo", "trl"):
        try:
            module = __import__(module_name, fromlist=["PPOConfig"])
            return getattr(module, "PPOConfig")
        except Exception:
            continue
    return None


def keyword_map(origin: dict) -> dict:
    return {k["name"]: k["value"] for k in origin.get("keywords", ())}


def check_ppo_config(setup: dict) -> dict:
    """Builds the script's PPOConfig as TRL will at `PPOConfig(...)`: every literal keyword it passes.

    A keyword PPOConfig does not have raises the real TypeError. Keywords whose values the source does
    not show are left out (and named in `unseen`), and a config fed from a hidden `**mapping` is
    `partial`: a failure that such a value could change is not the script's own (see the rules that
    read it). `output_dir` always points at a throwaway directory: the probe never writes the user's.
    """
    binding = next((b for b in setup["roles"] if b["role"] == "config"), None)
    if binding is None:
        return check_result(Status.UNCHECKED, reason="no config argument")
    origin = binding["origin"]
    # The script's own dataclass subclass of PPOConfig: its extra fields are its own `__init__`'s, the rest
    # reach PPOConfig's, which is built with them.
    local = origin.get("local_class") or {}
    own = set(local.get("members", ())) if any(ancestor.rsplit(".", 1)[-1] == "PPOConfig"
                                               for ancestor in local.get("ancestors", ())) else None
    if origin["kind"] != "constructor" or not (origin["class_name"].endswith("PPOConfig") or own is not None):
        return check_result(Status.UNCHECKED, reason=f"the config is not a visible PPOConfig(...) call ({origin['kind']})")
    config_class = ppo_config_class()
    if config_class is None:
        return check_result(Status.UNCHECKED, reason="this interpreter's TRL has no PPOConfig")
    import dataclasses

    fields = {f.name for f in dataclasses.fields(config_class) if f.init} if dataclasses.is_dataclass(config_class) \
        else set()
    given, unseen, unexpected = {}, [], []
    for name, value in keyword_map(origin).items():
        if own and name in own:
            continue
        if fields and name not in fields:
            unexpected.append(name)
        elif value["kind"] == "literal":
            given[name] = value["value"]
        else:
            unseen.append(name)
    facts = {"given": given, "unseen": unseen, "unexpected": unexpected, "partial": bool(origin.get("partial"))}
    with tempfile.TemporaryDirectory() as out:
        arguments = dict(given, output_dir=out)
        arguments.setdefault("report_to", "none")
        arguments.update({name: None for name in unexpected})  # so that the real TypeError is raised
        try:
            config = config_class(**arguments)
        except Exception as error:
            return dict(check_result(Status.FAIL, error=error_text(error)), **facts)
    result = dict(check_result(Status.PASS), **facts)
    result.update({name: getattr(config, name, None) for name in _CONFIG_READBACK})
    return result


# Read back from a built config: the precision checks and TRL's batch arithmetic depend on them.
_CONFIG_READBACK = ("bf16", "fp16", "use_cpu", "per_device_train_batch_size", "gradient_accumulation_steps",
                    "num_mini_batches", "total_episodes", "whiten_rewards", "batch_size", "mini_batch_size")


def cap_memory(budget: int) -> dict:
    """Caps further address-space growth; set after CUDA start-up, whose reservations are huge."""
    import resource

    try:
        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        used = 0
    limit = used + budget
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as error:
        return {"applied": False, "error": error_text(error)}
    return {"applied": True, "limit": limit, "at_cap_time": used}


def respond(request: dict) -> dict:
    """The answer to one request (the PPO probe's, or `migrate`'s "successor" task): a plain dict."""
    if request.get("task") == "successor":  # `ppodoctor migrate`'s checks of a ported script
        import worker_successor

        return worker_successor.respond(request)
    answer: dict = {"ok": False}
    try:
        import worker_api

        # First: its import checks must see the modules they name imported fresh (warnings fire once;
        # a warm worker, worker_server.py, imported them before and hands over what they warned then).
        answer["api"] = worker_api.api_facts(worker_api.import_questions(request["files"]))
        answer["versions"] = versions()
        answer["accelerator"] = accelerator()
        files = request["files"]
        configs = [[check_ppo_config(setup) for setup in file["setups"]] for file in files]
        answer["memory_cap"] = cap_memory(int(request.get("memory_bytes", 8 << 30)))
        import worker_models

        directories = request.get("script_dirs") or [""] * len(files)
        resolvers = {directory: worker_models.Resolver(request, directory) for directory in set(directories)}
        # One answer per setup of FileSetup.all_setups(): PPOTrainer calls, then RLOOTrainer/GRPOTrainer ones.
        answer["files"] = [
            [worker_models.probe_setup(setup, resolvers[directory], answer["versions"], config)
             for setup, config in zip(file["setups"], file_configs)]
            + [group_setup(setup, resolvers[directory]) for setup in file.get("group_setups") or ()]
            for file, file_configs, directory in zip(files, configs, directories)]
        answer["ok"] = True
    except MemoryError:
        answer["error"] = "the probe ran out of its memory cap"
    except Exception as error:
        answer["error"] = error_text(error)
        answer["traceback"] = traceback.format_exc(limit=6)
    answer["peak_rss_bytes"] = peak_rss()
    return answer


def group_setup(setup: dict, resolver) -> dict:
    import worker_group

    return worker_group.probe_group_setup(setup, resolver)


def peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    """One request on stdin, its answer as the last line on stdout (a one-shot run)."""
    found = respond(json.loads(sys.stdin.read()))
    sys.stdout.write("\n" + json.dumps(found, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

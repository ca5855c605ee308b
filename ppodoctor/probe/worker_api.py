"""The worker's API half: what this interpreter's TRL and transformers accept, read from themselves.

The era rules (PPD201/202/205/207/208) predict from ppodoctor's table that a keyword, import path
or config field is wrong for the target TRL; the probe confirms their fixes against the real
libraries instead: PPOTrainer.__init__'s signature, PPOConfig's dataclass fields, whether an import
path fails or warns, and transformers' version. Runs inside the user's interpreter (see worker.py):
standard library, trl and transformers only.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import warnings

from probe_checks import Imported
from worker import error_text

# Where PPOTrainer lives, newest first: TRL moved it to trl.experimental.ppo in 0.26.
_PPO_MODULES = ("trl.experimental.ppo", "trl")
_DEPRECATIONS = (FutureWarning, DeprecationWarning, PendingDeprecationWarning)
# What importing fired before the import checks ran: a warm worker (worker_server.py) imports trl once,
# and a module's import-time warning fires only then, so it keeps them here for every later check.
EARLIER_WARNINGS: list = []


def check_import(module: str, names: list) -> dict:
    """`from module import names`, as the script would run it: error, deprecation warning, or ok.

    Only warnings that mention the module or a name count, so that an unrelated library's
    deprecation at import time is not taken for this path's.
    """
    found = {"module": module, "names": list(names)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            imported = importlib.import_module(module)
            missing = [name for name in names if not _importable(imported, module, name)]
            if missing:
                raise ImportError(f"cannot import name {missing[0]!r} from {module!r}")
        except Exception as error:  # the script would die here too: that is the fact
            found.update(status=Imported.ERROR, detail=error_text(error))
            return found
    words = [module, *names]
    relevant = [w for w in [*caught, *EARLIER_WARNINGS]
                if issubclass(w.category, _DEPRECATIONS) and any(word in str(w.message) for word in words)]
    if relevant:
        first = relevant[0]
        found.update(status=Imported.WARNING, detail=f"{first.category.__name__}: {str(first.message).splitlines()[0]}")
    else:
        found.update(status=Imported.OK, detail="")
    return found


def _importable(imported, module: str, name: str) -> bool:
    """`from module import name` also imports a submodule of that name."""
    if hasattr(imported, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return False
    return True


def _ppo_class(name: str) -> tuple:
    for module_name in _PPO_MODULES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(module_name)
                found = getattr(module, name)
        except Exception:
            continue
        return found, module_name
    return None, None


def trainer_facts() -> dict:
    trainer, module = _ppo_class("PPOTrainer")
    if trainer is None:
        return {"error": "neither trl.experimental.ppo nor trl has PPOTrainer"}
    try:
        parameters = list(inspect.signature(trainer.__init__).parameters.values())[1:]  # past `self`
    except (TypeError, ValueError) as error:
        return {"error": f"cannot read PPOTrainer.__init__'s signature: {error_text(error)}"}
    return {"module": module, "parameters": [[p.name, p.kind.name] for p in parameters]}


def config_facts() -> dict:
    config, module = _ppo_class("PPOConfig")
    if config is None:
        return {"error": "neither trl.experimental.ppo nor trl has PPOConfig"}
    if not dataclasses.is_dataclass(config):
        return {"error": f"{module}.PPOConfig is not a dataclass"}
    return {"module": module, "fields": [field.name for field in dataclasses.fields(config) if field.init]}


def import_questions(files: list) -> list:
    """Every `from module import name` (and `import module`) of trl the files make, once each."""
    questions = []
    for file in files:
        for record in file.get("imports") or ():
            if record["name"] == "*":
                continue
            question = [record["module"], [record["name"]] if record["name"] else []]
            if question not in questions:
                questions.append(question)
    return questions


def api_facts(imports: list) -> dict:
    """Import checks first, before anything here imports the modules they name."""
    facts: dict = {"imports": [check_import(module, names) for module, names in imports]}
    try:
        import transformers

        facts["transformers"] = transformers.__version__
    except Exception as error:
        facts["transformers_error"] = error_text(error)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import trl
        facts["trl"] = trl.__version__
    except Exception as error:
        facts["trl_error"] = error_text(error)
        return facts
    facts["trainer"] = trainer_facts()
    facts["config"] = config_facts()
    return facts

"""The era table's import claims against real TRL: its own releases' source, and real imports.

- Facts read from the releases (and the ones the issue names) hold in the table.
- In both interpreters (trl 1.12.0 in `.venv`, trl 0.12.2 in `.venv-trl012`) every claim about the
  script-facing modules is imported for real: what the table says is there imports, what it says is
  missing raises ImportError.
- With PyPI (marked `network`): the listed releases are regenerated from their wheels and must give
  the checked-in table, and each module's names are checked by two means the generator does not use:
  Python's `symtable` for plain modules, and the `if TYPE_CHECKING:` imports for lazy packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import symtable
import zipfile
from pathlib import Path

import pytest

from ppodoctor.trl_api import table
from ppodoctor.trl_api.eras import Version

ROOT = Path(__file__).resolve().parent.parent
V = Version.parse


@pytest.mark.parametrize("version, module, name, expected", [
    ("0.7.11", "trl", "PPOTrainer", "ok"),
    ("0.7.11", "trl.core", "LengthSampler", "ok"),
    ("0.9.6", "trl", "PPOv2Trainer", None),  # 0.9/0.10 kept it in trl.trainer.ppov2_trainer only
    ("0.9.6", "trl.trainer.ppov2_trainer", "PPOv2Trainer", "ok"),
    ("0.11.4", "trl", "PPOv2Trainer", "ok"),
    ("0.11.4", "trl.trainer.ppov2_trainer", "PPOv2Config", "ok"),  # imported from .ppov2_config
    ("0.12.2", "trl.trainer.ppov2_trainer", "PPOv2Config", None),  # the 0.12 shim module has only the trainer
    ("0.12.2", "trl.trainer.ppov2_trainer", "PPOv2Trainer", "deprecated"),
    ("0.12.2", "trl.trainer.ppo_trainer", "PPOConfig", "ok"),  # imported from .ppo_config
    ("0.12.2", "trl.trainer", "empty_cache", None),  # in TYPE_CHECKING only, not in _import_structure
    ("0.12.2", "trl.trainer.utils", "empty_cache", "ok"),
    ("0.13.0", "trl.core", "respond_to_batch", "ok"),
    ("0.14.0", "trl.core", "respond_to_batch", None),
    ("0.14.0", "trl", "GRPOTrainer", "ok"),
    ("0.13.0", "trl", "GRPOTrainer", None),
    ("0.26.2", "trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE", "ok"),
    ("0.27.0", "trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE", None),
    ("0.27.0", "trl", "AutoModelForCausalLMWithValueHead", "deprecated"),
    ("0.28.0", "trl", "PPOTrainer", "deprecated"),
    ("0.29.1", "trl", "PPOTrainer", None),
    ("0.29.1", "trl.experimental.ppo", "PPOTrainer", "ok"),
    ("1.12.0", "trl.trainer", "utils", "ok"),  # a submodule
    ("1.12.0", "trl", "__version__", "ok"),  # _LazyModule's extra_objects
    ("1.16.0", "trl", "GRPOTrainer", "ok"),
])
def test_claims_read_from_the_releases(version, module, name, expected):
    assert table.name_status(module, name, V(version)) == expected


def test_modules_appear_and_go_where_the_releases_say():
    assert table.module_state("trl.core", V("0.24.0")) is True
    assert table.module_state("trl.core", V("0.25.1")) is False  # already gone from the 0.25.1 wheel
    assert table.module_state("trl.experimental.ppo", V("0.25.1")) is False
    assert table.module_state("trl.experimental.ppo", V("0.26.2")) is True
    assert table.module_state("trl.experimental.ppo", V("1.13.0")) is False
    assert table.module_state("trl.no_such_module", V("1.12.0")) is None  # never seen: unknown
    assert table.first_version_without("trl.core") == V("0.25.1")
    assert not table.name_known("trl", "NoSuchName") and table.name_known("trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE")


def test_moves_are_same_object_only_when_the_definition_is():
    # SIMPLE_CHAT_TEMPLATE moved, string unchanged, to trl.experimental.utils in 0.27, and was gone by 1.12.
    assert table.moved_to("trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE", V("0.27.0")) == ("trl.experimental.utils", True)
    assert table.moved_to("trl.trainer.utils", "SIMPLE_CHAT_TEMPLATE", V("1.12.0")) is None
    # trl.PPOTrainer in 0.28 is a warning shim class, not the class trl.experimental.ppo has.
    assert table.moved_to("trl", "PPOTrainer", V("0.29.1")) == ("trl.experimental.ppo", False)


def test_optional_dependency_names_are_conditional_and_star_follows_all():
    imports = table.imports()
    assert imports.conditional("trl", "DDPOTrainer", "0.12.2")  # only with diffusers installed
    assert not imports.conditional("trl", "PPOTrainer", "0.12.2")
    assert table.star_names("trl.experimental.ppo", V("1.12.0")) == {
        "AutoModelForCausalLMWithValueHead", "AutoModelForSeq2SeqLMWithValueHead", "PPOConfig", "PPOTrainer",
        "PreTrainedModelWrapper"}


# --- the claims imported for real -------------------------------------------------------------------
# The modules PPO scripts import from; every claim the table makes about them is tried.
SCRIPT_MODULES = ("trl", "trl.trainer", "trl.models", "trl.core", "trl.trainer.utils", "trl.import_utils",
                  "trl.data_utils", "trl.experimental", "trl.experimental.ppo", "trl.experimental.ppo.ppo_trainer",
                  "trl.experimental.ppo.ppo_config", "trl.experimental.utils", "trl.trainer.ppo_trainer",
                  "trl.trainer.ppo_config", "trl.trainer.ppov2_trainer", "trl.models.modeling_value_head",
                  "trl.models.utils", "trl.commands.cli_utils", "trl.scripts.utils", "trl.chat_template_utils")

_IMPORTER = """
import json, sys, warnings
warnings.simplefilter("ignore")
results = []
for module, name in json.loads(sys.stdin.read()):
    try:
        exec(f"from {module} import {name}" if name else f"import {module}", {})
        results.append("ok")
    except ImportError as error:
        missing = getattr(error, "name", None) or ""
        outside = isinstance(error, ModuleNotFoundError) and missing.split(".")[0] not in ("trl", "")
        results.append("missing-dependency" if outside else "ImportError")
    except Exception as error:  # _LazyModule wraps a submodule's failure in a RuntimeError
        cause = error.__cause__
        outside = isinstance(cause, ModuleNotFoundError) and (cause.name or "").split(".")[0] != "trl"
        results.append("missing-dependency" if outside else f"{type(error).__name__}: {error}")
print(json.dumps(results))
"""


def _claims(version: str):
    imports = table.imports()
    assert V(version) in table.known_versions(), "the interpreter's TRL must be a release the table measured"
    key = version
    claims = []
    for module in SCRIPT_MODULES:
        state = imports.module_state(module, key)
        if state is None:
            continue
        claims.append((module, "", state))
        for name in imports._row("names", module):
            if name in ("__all__",) or imports.conditional(module, name, key):
                continue
            claims.append((module, name, imports.status(module, name, key) is not None))
    return claims


def _interpreters():
    found = [pytest.param(sys.executable, "1.12.0", id="trl-1.12.0")]
    trl012 = os.environ.get("PPODOCTOR_TRL012_PYTHON") or str(ROOT / ".venv-trl012/bin/python")
    found.append(pytest.param(trl012, "0.12.2", id="trl-0.12.2"))
    return found


@pytest.mark.parametrize("python, version", _interpreters())
def test_claims_import_for_real(python, version):
    if not Path(python).exists():
        pytest.skip(f"no interpreter at {python}")
    claims = _claims(version)
    positives = sum(1 for *_rest, present in claims if present)
    assert positives > 150 and len(claims) - positives > 50, (positives, len(claims))
    done = subprocess.run([python, "-c", _IMPORTER], input=json.dumps([[m, n] for m, n, _p in claims]),
                          capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    wrong, environment = [], []
    for (module, name, present), result in zip(claims, results):
        if result == "missing-dependency" and present:
            environment.append(f"{module}.{name}")
        elif (result == "ok") != present or (not present and result != "ImportError"):
            wrong.append(f"from {module} import {name or '(module)'}: table says {'ok' if present else 'missing'}, "
                         f"Python says {result}")
    assert not wrong, "\n".join(wrong)
    # A claim may only go untested where a third-party package of another trainer is absent here
    # (trl 1.12's GRPO/RLOO/distillation trainers import `requests`, which .venv does not have).
    assert len(environment) <= 10 and not any("PPO" in claim or "ValueHead" in claim for claim in environment), \
        environment


# --- the table against the wheels ---------------------------------------------------------------------
CHECKED_RELEASES = ("0.7.11", "0.11.4", "0.12.2", "0.14.0", "0.20.0", "0.25.1", "0.28.0", "1.12.0")
# Where a lazy package's TYPE_CHECKING imports disagree with its _import_structure, Python follows the
# structure (checked for real in .venv-trl012: `from trl.trainer import empty_cache` is an ImportError).
TYPE_CHECKING_ONLY = {("0.11.4", "trl.trainer"): {"empty_cache"}, ("0.12.2", "trl.trainer"): {"empty_cache"}}
STRUCTURE_ONLY = {("0.11.4", "trl.models"): {"unwrap_model_for_generation"}}


def _wheels(tmp_path_factory):
    cache = Path(os.environ.get("PPODOCTOR_TRL_WHEELS") or tmp_path_factory.getbasetemp() / "trl-wheels")
    cache.mkdir(parents=True, exist_ok=True)
    missing = [v for v in CHECKED_RELEASES if not (cache / f"trl-{v}-py3-none-any.whl").exists()]
    for version in missing:  # one at a time: pip resolves the requirements of one command together
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                               "-d", str(cache), f"trl=={version}"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"PyPI not reachable: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return cache


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return _wheels(tmp_path_factory)


@pytest.mark.network
def test_generator_reproduces_the_table_from_the_wheels(wheels):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_trl_table.py"), "--cache", str(wheels),
                           "--check", *CHECKED_RELEASES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _source(wheel: zipfile.ZipFile, module: str) -> str:
    base = module.replace(".", "/")
    path = f"{base}/__init__.py" if f"{base}/__init__.py" in wheel.namelist() else f"{base}.py"
    return wheel.read(path).decode("utf-8")


def _wanted(name: str) -> bool:
    return not name.startswith("_") or name in ("__version__", "__all__")


@pytest.mark.network
@pytest.mark.parametrize("version", CHECKED_RELEASES)
def test_names_match_what_python_sees_in_the_source(wheels, version):
    import ast

    view = table.imports().view(version)
    wheel = zipfile.ZipFile(wheels / f"trl-{version}-py3-none-any.whl")
    listed = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in wheel.namelist()
              if n.startswith("trl/") and n.endswith(".py")}
    assert set(view["modules"]) == listed
    plain = lazy = 0
    for module, names in view["names"].items():
        source = _source(wheel, module)
        if "_LazyModule(" in source and "sys.modules[__name__]" in source:
            typed = set()
            for node in ast.parse(source).body:
                if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                    typed |= {a.asname or a.name for sub in ast.walk(node) if isinstance(sub, ast.ImportFrom)
                              for a in sub.names}
            if "extra_objects" in source and "__version__" in source:
                typed.add("__version__")
            typed = (typed - TYPE_CHECKING_ONLY.get((version, module), set())) | STRUCTURE_ONLY.get((version, module),
                                                                                                  set())
            assert set(names) == {n for n in typed if _wanted(n)}, module
            lazy += 1
        elif "TYPE_CHECKING" not in source:
            # symtable: CPython's own account of what a module binds (imports, assignments, defs).
            symbols = symtable.symtable(source, module, "exec").get_symbols()
            bound = {s.get_name() for s in symbols if s.is_assigned() or s.is_imported() or s.is_namespace()}
            assert set(names) == {n for n in bound if _wanted(n)}, module
            plain += 1
    assert plain > 10 and (lazy > 0 or version == "0.7.11")

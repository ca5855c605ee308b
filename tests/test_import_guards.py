"""The try/if statements around TRL imports in the setup model, and what they mean on a target."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from ppodoctor.rules.fallbacks import ImportFate, branch_taken, fates
from ppodoctor.setup import model
from ppodoctor.setup.extract import extract
from ppodoctor.trl_api.eras import Version


def imports(source: str):
    file_setup = extract(libcst.parse_module(textwrap.dedent(source)), "t.py")
    assert model.loads(model.dumps(file_setup)) == file_setup  # guards round-trip through JSON
    return file_setup.imports


def guards(source: str) -> dict[str, list[tuple]]:
    return {f"{r.module}:{r.name}": [(g.kind, g.branch, g.catches, g.compare, g.release, g.form) for g in r.guards]
            for r in imports(source)}


@pytest.mark.parametrize("handler, catches", [
    ("except ImportError:", "ImportError"), ("except ModuleNotFoundError:", "ModuleNotFoundError"),
    ("except (KeyError, ModuleNotFoundError):", "ModuleNotFoundError"), ("except Exception:", "ImportError"),
    ("except:", "ImportError"), ("except (ImportError, AttributeError) as error:", "ImportError"),
    ("except KeyError:", ""), ("except builtins.ImportError:", "ImportError"),
])
def test_what_a_handler_catches(handler, catches):
    found = guards(f"try:\n    from trl.experimental.ppo import PPOTrainer\n{handler}\n    from trl import PPOTrainer\n")
    assert found["trl.experimental.ppo:PPOTrainer"] == [("try", "try", catches, "", "", "")]
    assert found["trl:PPOTrainer"] == [("try", "except0", catches, "", "", "")]


def test_the_else_of_a_try_is_not_guarded_by_its_handlers():
    found = guards("try:\n    import trl.experimental.ppo\nexcept ImportError:\n    pass\n"
                   "else:\n    from trl.experimental.ppo import PPOTrainer\nfinally:\n    from trl import SFTTrainer\n")
    assert found == {"trl.experimental.ppo:": [("try", "try", "ImportError", "", "", "")],
                     "trl.experimental.ppo:PPOTrainer": [], "trl:SFTTrainer": []}


@pytest.mark.parametrize("prelude, test, expected", [
    ("import trl\nfrom packaging import version", 'version.parse(trl.__version__) >= version.parse("0.26")',
     (">=", "0.26", "release")),
    ("import trl\nimport packaging.version", 'packaging.version.parse("0.26.0") <= packaging.version.parse(trl.__version__)',
     (">=", "0.26.0", "release")),  # mirrored: the TRL version on the left
    ("from importlib.metadata import version\nfrom packaging.version import Version",
     'Version(version("trl")) < Version("0.12")', ("<", "0.12", "release")),
    ("import pkg_resources", 'pkg_resources.parse_version(pkg_resources.get_distribution("trl").version) > '
     'pkg_resources.parse_version("0.11.4")', (">", "0.11.4", "release")),
    ("import trl\nTRL_VERSION = tuple(int(x) for x in trl.__version__.split('.')[:2])", "TRL_VERSION < (0, 12)",
     ("<", "0.12", "tuple")),
    ("import trl\nfrom packaging import version\nV = version.parse(trl.__version__)", "not V >= version.parse('0.29')",
     ("<", "0.29", "release")),
    ("import trl\nfrom packaging import version", "version.parse(trl.__version__).release >= (0, 26)",
     (">=", "0.26", "tuple")),
])
def test_version_tests_that_are_recognised(prelude, test, expected):
    found = guards(f"{prelude}\nif {test}:\n    from trl.experimental.ppo import PPOTrainer\nelse:\n"
                   "    from trl import PPOTrainer\n")
    assert found["trl.experimental.ppo:PPOTrainer"] == [("if", "body", "", *expected)]
    assert found["trl:PPOTrainer"] == [("if", "else", "", *expected)]


@pytest.mark.parametrize("prelude, test", [
    ("import trl", 'trl.__version__ >= "0.26"'),  # a string comparison: "0.9" > "0.26"
    ("import trl\nfrom packaging import version", 'version.parse(trl.__version__) >= "0.26"'),  # TypeError in Python
    ("import trl\nfrom packaging import version", 'version.parse(trl.__version__) >= version.parse("0.26rc1")'),
    ("import transformers\nfrom packaging import version", 'version.parse(transformers.__version__) >= version.parse("4.46")'),
    ("import trl\nfrom packaging import version", 'version.parse(trl.__version__) >= version.parse("0.26") and FLAG'),
    ("import trl", 'hasattr(trl, "PPOv2Trainer")'),
    ("import trl\nfrom packaging import version\nif FLAG:\n    V = version.parse(trl.__version__)\nelse:\n"
     "    V = version.parse('0.1')", "V >= version.parse('0.26')"),  # two bindings: unknown
])
def test_tests_that_are_not_trl_version_tests(prelude, test):
    found = guards(f"{prelude}\nif {test}:\n    from trl.experimental.ppo import PPOTrainer\n")
    assert found["trl.experimental.ppo:PPOTrainer"] == [("if", "body", "", "", "", "")]


def test_elif_is_an_if_in_the_else_branch():
    found = guards("import trl\nfrom packaging import version\nV = version.parse(trl.__version__)\n"
                   "if V >= version.parse('0.29'):\n    from trl.experimental.ppo import PPOTrainer\n"
                   "elif V >= version.parse('0.12'):\n    from trl import PPOTrainer\n"
                   "else:\n    from trl import PPOv2Trainer as PPOTrainer\n")
    assert found["trl:PPOTrainer"] == [("if", "else", "", ">=", "0.29", "release"),
                                       ("if", "body", "", ">=", "0.12", "release")]
    assert found["trl:PPOv2Trainer"][1][:2] == ("if", "else")


@pytest.mark.parametrize("compare, release, form, version, taken", [
    (">=", "0.26", "release", "0.26.0", True), (">=", "0.26", "release", "0.25.1", False),
    ("<", "0.12", "release", "0.11.4", True), ("==", "0.12", "release", "0.12.0", True),
    ("==", "0.12", "release", "0.12.2", False),
    ("<", "0.12", "tuple", "0.11.4", True), ("<", "0.12", "tuple", "0.12.2", False),
    (">=", "0.12", "tuple", "0.12.2", True),
    (">", "0.12", "tuple", "0.12.2", None),  # (0, 12) > (0, 12) but (0, 12, 2) > (0, 12): depends on the slice
    ("==", "0.12", "tuple", "0.12.2", None),
])
def test_which_branch_runs(compare, release, form, version, taken):
    guard = model.ImportGuard("if", model.Span(1, 1, 1, 1), "body", "", compare, release, form)
    assert branch_taken(guard, Version.parse(version)) is taken
    other = model.ImportGuard("if", model.Span(1, 1, 1, 1), "else", "", compare, release, form)
    assert branch_taken(other, Version.parse(version)) is (None if taken is None else not taken)


SHIM = """
try:
    from trl.experimental.ppo import PPOTrainer
except {caught}:
    from trl import PPOTrainer
"""


@pytest.mark.parametrize("caught, version, expected", [
    ("ImportError", "0.20.0", [ImportFate.SILENCED, ImportFate.RUNS]),  # the fallback takes over
    ("ImportError", "1.12.0", [ImportFate.RUNS, ImportFate.DEAD]),  # the handler never runs
    ("ImportError", "1.13.0", [ImportFate.SILENCED, ImportFate.FAILS]),  # both fail: the handler's error is the one seen
    ("KeyError", "0.20.0", [ImportFate.FAILS, ImportFate.RUNS]),  # nothing catches the ImportError; the handler's
    # import is an ordinary one (it runs on some other error)
])
def test_verdicts_of_a_shim(caught, version, expected):
    assert fates(imports(SHIM.format(caught=caught)), Version.parse(version)) == expected


def test_module_not_found_does_not_catch_a_missing_name():
    source = "try:\n    from trl import PPOTrainer\nexcept ModuleNotFoundError:\n    from trl.experimental.ppo import PPOTrainer\n"
    assert fates(imports(source), Version.parse("0.29.1")) == [ImportFate.FAILS, ImportFate.DEAD]
    source = source.replace("from trl import PPOTrainer", "from trl.trainer.ppo_trainer import PPOTrainer")
    assert fates(imports(source), Version.parse("0.29.1")) == [ImportFate.SILENCED, ImportFate.RUNS]


def test_an_if_the_doctor_cannot_decide_is_a_group_only_with_imports_in_both_branches():
    either = "if FLAG:\n    from trl.experimental.ppo import PPOTrainer\nelse:\n    from trl import PPOTrainer\n"
    assert fates(imports(either), Version.parse("1.12.0")) == [ImportFate.RUNS, ImportFate.SILENCED]
    alone = "if FLAG:\n    from trl import PPOTrainer\n"
    assert fates(imports(alone), Version.parse("1.12.0")) == [ImportFate.FAILS]

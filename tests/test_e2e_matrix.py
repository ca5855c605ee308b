"""The end-to-end matrix: every fixable rule's mistake, in eleven script styles, against real trl 1.12.

For each (rule, style): the broken script first fails in trl 1.12 with the error the rule names;
`ppodoctor fix --write --python <that interpreter>` (the probe on) patches it; the patched script
then trains to the end on the CPU. The scripts run as `python train.py` would, in forked children
of one interpreter that imported torch, transformers and trl once (tests/e2e_runner.py);
tests/test_e2e_trl.py runs a few the plain way, one interpreter per script, as a cross-check. One
`fix --write` covers the whole tree, so the probe's worker starts once for all the scripts.

PPD207 (`torch_dtype=` under transformers 5) is left out: the original trains (a deprecation), so
there is no failure to reproduce.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from e2e_matrix import CASES, CLEAN, STYLES, fix_all, make_models, run_scripts, write_scripts


def _styles_to_run(request) -> set:
    """The styles the selected tests need: with `-k partial`, only that style's scripts are built, run and
    fixed; a selected test that is not about one style (the whole tree) needs them all."""
    styles = set()
    for item in request.session.items:
        if item.module is not request.module:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "style" not in params:
            return set(STYLES)
        styles.add(params["style"])
    return styles


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("matrix")
    make_models(sys.executable, root / "models")
    scripts = write_scripts(root / "scripts", root / "models", _styles_to_run(request))
    broken = run_scripts(sys.executable, list(scripts.values()))
    originals = {key: {p.name: p.read_text() for p in path.parent.glob("*.py")} for key, path in scripts.items()}
    fixed = fix_all(sys.executable, root / "scripts")
    trained = run_scripts(sys.executable, list(scripts.values()))
    return scripts, originals, broken, fixed, trained


def _outcome(fixed, script: Path, code: str) -> list[str]:
    return re.findall(rf"^{re.escape(str(script))}:(?:\d+:\d+): {code} (.*)$", fixed.stderr, re.MULTILINE)


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_broken_then_fixed_then_trains(matrix, case, style):
    scripts, originals, broken, fixed, trained = matrix
    script = scripts[(case.label, style)]
    before = broken[str(script)]
    assert before["returncode"] != 0, f"the broken script trained:\n{originals[(case.label, style)]['train.py']}"
    assert case.error in before["stderr"], f"expected {case.error!r}:\n{before['stderr'][-2500:]}"
    outcomes = _outcome(fixed, script, case.code)
    assert outcomes and all(o == "fixed (confirmed)" for o in outcomes), \
        f"{outcomes}\n{fixed.stderr[-4000:]}\n{script.read_text()}"
    after = trained[str(script)]
    assert after["returncode"] == 0, f"the patched script failed:\n{script.read_text()}\n{after['stderr'][-2500:]}"


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_script_that_trains_is_left_byte_for_byte(matrix, style):
    scripts, originals, broken, _fixed, trained = matrix
    script = scripts[(CLEAN.label, style)]
    assert broken[str(script)]["returncode"] == 0, broken[str(script)]["stderr"][-2500:]
    assert {p.name: p.read_text() for p in script.parent.glob("*.py")} == originals[(CLEAN.label, style)]
    assert trained[str(script)]["returncode"] == 0


def test_the_whole_tree_is_written_in_one_run(matrix):
    scripts, _originals, _broken, fixed, _trained = matrix
    broken_scripts = len(scripts) - len(STYLES)
    assert re.search(rf"Fixed \d+ problems in {broken_scripts} files\.", fixed.stderr), fixed.stderr[-3000:]

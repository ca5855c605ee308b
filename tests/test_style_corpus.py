"""A style corpus of our own (fixtures/styles/): PPO scripts written in styles the e2e matrix does not
generate, each style a broken script (a mistake one rule covers) and its correct twin.

`expected.json` holds, per style, the TRL era it is written for, the rule the broken script must get
and the error real TRL raises on it (measured: trl 1.12.0 in .venv, trl 0.12.2 in .venv-trl012, GRPO
and RLOO styles in trl 1.16.0, .venv-trl116). A script may read a data file of its own beside it
(`broken.json` / `twin.json`, or `.yaml`), laid out with it.
The scripts read their models from `models/` beside them (relative paths, or an environment variable
that defaults to it); the tests lay the styles out in a temporary tree with `models` linked in.

Three parts:
- check (fast, no TRL): every broken script gets its rule as an error; no twin gets an error-level
  finding (and, stricter, no finding at all).
- real: every broken script fails in real TRL with the recorded error, every twin trains two
  episodes on the CPU (tests/e2e_runner.py: forked children of one interpreter per era).
- fix: `ppodoctor fix --write --python <era's interpreter>` (the probe on) over a copy of the broken
  scripts; a healed script is one whose rule is "fixed (confirmed)" and which then trains.

Where ppodoctor goes blind today the test is an xfail(strict=True) whose reason says what it missed
and why; when the evaluator learns the style the xfail turns into a failure, and the entry goes.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from e2e_matrix import FIXTURE_MODELS, fix_all, make_models, run_scripts

ROOT = Path(__file__).resolve().parent.parent
STYLES_DIR = ROOT / "fixtures" / "styles"
EXPECTED = json.loads((STYLES_DIR / "expected.json").read_text())
STYLES = sorted(EXPECTED["styles"])
SCRIPTS = ("broken", "twin")
DATA_SUFFIXES = (".json", ".yaml")  # a script's own data file: `broken.json` beside `broken.py`

# `check` (static) does not report the broken script's rule, as an error, at the mistake.
CHECK_MISSES: dict[str, str] = {}  # (style -> reason; none today: every broken script gets its rule)

# The twin gets a finding (a warning: no error-level one in the corpus) where nothing is wrong.
# (style -> reason, as CHECK_MISSES; none today: the twins get no finding)
TWIN_FALSE_ALARMS: dict[str, str] = {}

# `fix --write` (probe on) does not make the broken script train. Styles check misses cannot be fixed.
FIX_FAILS = dict(CHECK_MISSES, **{
    "old_step_loop": "PPD206 has no fix (the port to the 0.12 API or the `trl<=0.11.4` pin is the user's choice); "
                     "`fix --write` names it: 'PPD206 left: no automatic fix: ...'",
    "config_pairs": "PPD205 not written: the rename is made where the key is written (the `(\"init_kl_coef\", 0.05)` "
                    "pair a `for` loop copies into the dict), but the probe leaves it unchecked: `kl_coef` is "
                    "fixed where `init_kl_coef` was adaptive, 'a change of meaning to decide' (--unsafe-fixes "
                    "writes it)",
    "config_holder": "PPD211 not fixed: 'advice only: the fix needs your decision' (the did-you-mean "
                     "`num_ppo_epochs=` for the misspelt `num_ppo_epoch=` is not written by `fix --write`)",
    "global_batch_math": "PPD401 has no fix: 'several sizes would divide; which one to change (and so the memory "
                         "per step and the number of updates) is the user's choice'",
    "setattr_overrides": "PPD401 has no fix: 'several sizes would divide; which one to change (and so the memory "
                         "per step and the number of updates) is the user's choice' (the sizes come from a setattr loop)",
    "reward_decorator": "PPD603 has no fix for a reward function that returns one number: what one reward per "
                        "completion should be is the user's choice (`fix --write`: 'PPD603 left: no automatic fix')",
    "prompt_mapped": "PPD604 has no fix: 'which column holds the prompts, and whether it needs a chat template, is the "
                     "data's meaning' (`fix --write` names the rename to make)",
    "rows_batched_map": "PPD404 not written: the probe leaves it unchecked, 'the mapped function `tokenize` is not "
                        "a lambda written in the call' (a named function mapped with batched=True)",
})


def _era(style: str, script: str = "broken") -> str:
    """The TRL release the script is run with: the style's, unless the script names its own (the twin of
    an era mistake is the same program where it belongs)."""
    return EXPECTED["styles"][style][script].get("era", EXPECTED["styles"][style]["era"])


def _python(era: str) -> str:
    return str(ROOT / EXPECTED["eras"][era]["python"])


def _env(era: str) -> dict:
    """What the era's interpreter needs besides itself: trl 0.11.4 is a site directory put first on the
    path of the trl 0.12.2 interpreter (scripts/setup makes it)."""
    site = EXPECTED["eras"][era].get("pythonpath")
    return {"PYTHONPATH": str(ROOT / site)} if site else {}


def _params(table: dict):
    """Every style, the ones in `table` marked xfail(strict=True) with its reason."""
    return [pytest.param(style, marks=pytest.mark.xfail(reason=table[style], strict=True)) if style in table
            else style for style in STYLES]


def _config_models(out: Path) -> Path:
    """The models' directories as the scripts name them, configs and tokenizer files only (what `check`
    reads; no weights): `policy` and `rm` with the pad-token tokenizer, `tok-nopad` without one."""
    for name, config in (("policy", "llama-causal"), ("rm", "llama-rm")):
        shutil.copytree(FIXTURE_MODELS / config, out / name)
        shutil.copytree(FIXTURE_MODELS / "tok-pad", out / name, dirs_exist_ok=True)
    shutil.copytree(FIXTURE_MODELS / "tok-nopad", out / "tok-nopad")
    return out


def _lay_out(root: Path, models: dict, styles, scripts=SCRIPTS) -> dict:
    """Each style's scripts copied to `root/<style>/` with `models` linked to the models of its
    interpreter (`models`: interpreter -> directory); answers {(style, script): path}."""
    paths = {}
    for style in styles:
        directory = root / style
        directory.mkdir(parents=True)
        (directory / "models").symlink_to(models[_python(_era(style))])
        for script in scripts:
            paths[(style, script)] = directory / f"{script}.py"
            shutil.copy(STYLES_DIR / style / f"{script}.py", paths[(style, script)])
            for data in (STYLES_DIR / style / f"{script}{suffix}" for suffix in DATA_SUFFIXES):
                if data.exists():
                    shutil.copy(data, directory / data.name)
    return paths


def _needs(python: str) -> None:
    if not Path(python).exists():
        pytest.skip(f"no interpreter at {python}")


# --- check: fast, static ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    from ppodoctor import api
    from ppodoctor.trl_api.eras import Target

    root = tmp_path_factory.mktemp("styles-check")
    models = _config_models(root / "models")
    paths = _lay_out(root / "scripts", {_python(era): models for era in EXPECTED["eras"]}, STYLES)
    targets = {era: Target.of(era, transformers=facts["transformers"], transformers_source="expected.json")
               for era, facts in EXPECTED["eras"].items()}
    return {key: api.check_file(path, target=targets[_era(*key)]).diagnostics for key, path in paths.items()}


def _findings(diagnostics) -> list:
    return [(d.code, d.severity.value) for d in diagnostics]


def test_the_corpus_is_what_the_expectations_name():
    on_disk = sorted(p.name for p in STYLES_DIR.iterdir() if p.is_dir())
    assert on_disk == STYLES and len(STYLES) >= 16
    for style in STYLES:
        names = {p.name for p in (STYLES_DIR / style).iterdir()}
        assert names - {f"{script}{suffix}" for script in SCRIPTS for suffix in DATA_SUFFIXES} == \
            {"broken.py", "twin.py"}, names
        assert EXPECTED["styles"][style]["broken"]["rule"] and EXPECTED["styles"][style]["twin"]["rule"] is None


@pytest.mark.parametrize("style", _params(CHECK_MISSES))
def test_check_reports_the_broken_scripts_rule_as_an_error(checked, style):
    rule = EXPECTED["styles"][style]["broken"]["rule"]
    assert (rule, "error") in _findings(checked[(style, "broken")]), _findings(checked[(style, "broken")])


@pytest.mark.parametrize("style", STYLES)
def test_check_finds_no_error_in_the_twin(checked, style):
    errors = [finding for finding in _findings(checked[(style, "twin")]) if finding[1] == "error"]
    assert errors == [], (STYLES_DIR / style / "twin.py").read_text()


@pytest.mark.parametrize("style", _params(TWIN_FALSE_ALARMS))
def test_check_finds_nothing_in_the_twin(checked, style):
    assert _findings(checked[(style, "twin")]) == []


# --- real TRL: the broken ones fail as recorded, the twins train ---------------------------------------

@pytest.fixture(scope="module")
def trl_models(tmp_path_factory):
    """Real tiny models (weights) saved by each interpreter the eras use (interpreter -> directory)."""
    root = tmp_path_factory.mktemp("styles-models")
    models = {}
    for python in sorted({_python(era) for era in EXPECTED["eras"]}):
        _needs(python)
        models[python] = root / f"models-{len(models)}"
        make_models(python, models[python])
    return models


def _run_by_era(paths: dict) -> dict:
    """{(style, script): the runner's result}, each script run by its era's interpreter."""
    results = {}
    for era in EXPECTED["eras"]:
        mine = {key: path for key, path in paths.items() if _era(*key) == era}
        if mine:
            done = run_scripts(_python(era), list(mine.values()), env=_env(era))
            results.update({key: done[str(path)] for key, path in mine.items()})
    return results


@pytest.fixture(scope="module")
def ran(tmp_path_factory, trl_models):
    return _run_by_era(_lay_out(tmp_path_factory.mktemp("styles-run"), trl_models, STYLES))


@pytest.mark.parametrize("style", STYLES)
def test_the_broken_script_fails_in_trl_with_the_recorded_error(ran, style):
    result = ran[(style, "broken")]
    assert result["returncode"] != 0, "the broken script trained"
    assert EXPECTED["styles"][style]["broken"]["error"] in result["stderr"], result["stderr"][-2500:]


@pytest.mark.parametrize("style", STYLES)
def test_the_twin_trains(ran, style):
    assert ran[(style, "twin")]["returncode"] == 0, ran[(style, "twin")]["stderr"][-2500:]


# --- fix --write, the probe on ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixed(tmp_path_factory, trl_models):
    """Each era's broken scripts in a tree of their own, fixed in one run by that era's interpreter; the
    scripts that fix changed are run again. Answers {style: (outcomes of its rule, run result or None)}."""
    root = tmp_path_factory.mktemp("styles-fix")
    outcomes, changed = {}, {}
    for era in EXPECTED["eras"]:
        styles = [style for style in STYLES if _era(style) == era]
        if not styles:
            continue
        paths = _lay_out(root / era, trl_models, styles, scripts=("broken",))
        report = fix_all(_python(era), root / era)
        for (style, _), path in paths.items():
            rule = EXPECTED["styles"][style]["broken"]["rule"]
            outcomes[style] = re.findall(rf"^{re.escape(str(path))}:\d+:\d+: {rule} (.*)$", report.stderr,
                                         re.MULTILINE)
            if path.read_text() != (STYLES_DIR / style / "broken.py").read_text():
                changed[(style, "broken")] = path
    trained = _run_by_era(changed) if changed else {}
    return {style: (outcomes[style], trained.get((style, "broken"))) for style in STYLES}


@pytest.mark.parametrize("style", _params(FIX_FAILS))
def test_fix_write_heals_the_broken_script(fixed, style):
    outcomes, after = fixed[style]
    assert outcomes and all(outcome == "fixed (confirmed)" for outcome in outcomes), outcomes
    assert after is not None and after["returncode"] == 0, (after or {}).get("stderr", "")[-2500:]


def test_how_many_fix_heals(fixed):
    """The figure for the report: how many of the corpus's broken scripts `fix --write` makes train."""
    healed = sorted(style for style, (outcomes, after) in fixed.items()
                    if outcomes and after is not None and after["returncode"] == 0)
    print(f"fix --write heals {len(healed)} of {len(STYLES)}: {', '.join(healed)}", file=sys.stderr)
    assert set(healed) == set(STYLES) - set(FIX_FAILS)

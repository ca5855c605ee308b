"""Our libcst evaluator against astroid (pylint's inference engine): the same questions, scored on truth.

Run: python benchmarks/evaluator_choice.py [--astroid-path DIR] [--files 16] [--record-truth]

Issue 20 asked to decide from data whether to keep extending our own evaluator (ppodoctor/setup/) or to
build on astroid. At every PPO trainer call (PPOTrainer, PPOv2Trainer, a subclass) each engine is asked,
per model role (policy, reference, reward, value): what kind of model fills it (a causal LM, a
sequence classifier, a value-head model, a bare transformers model, or none), whether it is the same
object as another role, and a sequence classifier's `num_labels`. An answer is right, wrong or unknown.

Scripts and their truth:
- fixtures/styles/*/{broken,twin}.py: the truth is what real TRL was handed, recorded by running each
  script in its era's interpreter up to the trainer call (benchmarks/evaluator_truth.py) and kept in
  benchmarks/evaluator_truth.json; `--record-truth` records it again (a few minutes).
- tests/e2e_matrix.py's scripts for every role mistake (PPD101-PPD110) and the clean setup, in each of
  its 11 styles (inline, helpers, argparse, constants, class, data, partial, memoised, subclass, a
  sibling module, registry): truth recorded the same way, by trl 1.12.0.
- the generated tree of benchmarks/resolution.py (`--files` of them, every template in turn): the truth
  is what each template builds (TEMPLATE_TRUTH below; the scripts need hub models and cannot run).

astroid is not a dependency of ppodoctor. Install it for this benchmark only:
    pip install --no-deps --target /tmp/astroid-site -r locks/bench-astroid.txt
and pass `--astroid-path /tmp/astroid-site` (or run with a `--python` whose site has astroid, plus
transformers and TRL for it to follow). Without it the astroid rows are skipped, saying so.

Each engine runs in a fresh process of its own over every file, in order (one process per engine,
as one `check` run): CPU seconds per file (process time), the first file apart from the rest, since
astroid's first inference through transformers' modules is paid once per process. The baseline is
`libcst.parse_module` of the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
STYLES_DIR = ROOT / "fixtures" / "styles"
TRUTH_FILE = ROOT / "benchmarks" / "evaluator_truth.json"
ROLES = ("policy", "reference", "reward", "value")
ROLE_KEYWORDS = {"model": "policy", "policy": "policy", "ref_model": "reference", "ref_policy": "reference",
                 "reward_model": "reward", "value_model": "value"}
E2E_ERA = "1.12.0"  # tests/e2e_matrix.py writes trl 1.12 scripts
NEWEST_WITH_PPO = "1.12.0"  # later eras' styles are RLOO/GRPO ones (trl_api/eras.py says the same)
ENGINES = ("libcst", "ours", "astroid-plain", "astroid-brain")

_LM, _SC, _VH = ("transformers.AutoModelForCausalLM", "transformers.AutoModelForSequenceClassification",
                 "trl.AutoModelForCausalLMWithValueHead")
_FOUR = {"policy": {"class": _LM, "same_as": []}, "reference": {"class": _LM, "same_as": []},
         "reward": {"class": _SC, "num_labels": 1, "same_as": []},
         "value": {"class": _SC, "num_labels": 1, "same_as": []}}
# What each template of benchmarks/resolution.py hands PPOTrainer (read off the templates there).
TEMPLATE_TRUTH = {
    **{style: {"roles": _FOUR, "missing": []}
       for style in ("flat", "helpers", "class", "argparse", "dataclass", "registry")},
    "kwargs": {"roles": {"policy": {"class": _LM, "same_as": []}, "reference": {"class": None},
                         "reward": {"class": _SC, "num_labels": 1, "same_as": ["value"]},
                         "value": {"class": _SC, "num_labels": 1, "same_as": ["reward"]}}, "missing": []},
    # trl 0.11's `PPOTrainer(config, model, ref_model, tokenizer, ...)`: no reward or value model parameter
    "old_loop": {"roles": {"policy": {"class": _VH, "same_as": []}, "reference": {"class": _VH, "same_as": []}},
                 "missing": []},
}

# The question whose answer decides a broken style script's rule (expected.json), and the broken answer;
# the twin must answer it otherwise. Rules about keywords, configs or tokenizers ask no role question.
RULE_QUESTIONS = {"PPD101": ("kind:value", "none"), "PPD103": ("kind:value", "causal_lm"),
                  "PPD104": ("kind:reward", "causal_lm"), "PPD105": ("num_labels:reward", 2),
                  "PPD106": ("same:policy=reference", True), "PPD109": ("same:policy=value", True),
                  "PPD110": ("kind:policy", "other_model")}


def rule_questions() -> dict[str, tuple[str, object, bool]]:
    """{"styles/<s>/<script>.py": (question, the broken answer, whether this script is the broken one)}."""
    expected = json.loads((STYLES_DIR / "expected.json").read_text())["styles"]
    asked = {}
    for style, facts in expected.items():
        if facts["broken"]["rule"] in RULE_QUESTIONS:
            question, broken = RULE_QUESTIONS[facts["broken"]["rule"]]
            for script in ("broken", "twin"):
                asked[f"styles/{style}/{script}.py"] = (question, broken, script == "broken")
    return asked

# --- the questions and the score ---------------------------------------------------------------------

def questions(truth: dict) -> dict[str, object]:
    """Question → true answer, for one trainer call's recorded truth."""
    from ppodoctor.setup.kinds import class_kind

    asked = {}
    roles = truth.get("roles", {})
    for role in ROLES:
        if role in roles:
            name = roles[role]["class"]
            asked[f"kind:{role}"] = "none" if name is None else class_kind(name).value
        elif role in {ROLE_KEYWORDS[keyword] for keyword in truth.get("missing", ())}:  # TRL's parameter, not passed
            asked[f"kind:{role}"] = "none"
    present = [role for role in ROLES if roles.get(role, {}).get("class")]
    for a, b in combinations(present, 2):
        asked[f"same:{a}={b}"] = b in roles[a]["same_as"]
    for role in present:
        if asked[f"kind:{role}"] == "sequence_classifier" and roles[role].get("num_labels") is not None:
            asked[f"num_labels:{role}"] = roles[role]["num_labels"]
    return asked


def answer(answers: dict, question: str):
    family, subject = question.split(":", 1)
    return answers.get(family, {}).get(subject)


def score(truths: dict, answered: dict, only_rules: bool = False) -> dict:
    """{"right", "wrong", "unknown"} counts, and the wrong ones named; `only_rules`: each style script's
    rule question alone (RULE_QUESTIONS)."""
    counts = {"right": 0, "wrong": 0, "unknown": 0, "wrong_list": []}
    decisive = rule_questions()
    for name, truth in truths.items():
        asked = questions(truth)
        if only_rules:
            asked = {decisive[name][0]: asked[decisive[name][0]]} if name in decisive else {}
        for question, expected in asked.items():
            given = answer(answered.get(name, {}), question)
            outcome = "unknown" if given is None else "right" if given == expected else "wrong"
            counts[outcome] += 1
            if outcome == "wrong":
                counts["wrong_list"].append(f"{name} {question}: said {given}, truth {expected}")
    return counts


# --- our evaluator --------------------------------------------------------------------------------------

def ours_answers(path: str) -> dict:
    from ppodoctor.core import parse_setup
    from ppodoctor.setup.kinds import model_kind, same_object
    from ppodoctor.types import ModelKind

    setups = parse_setup(Path(path).read_text(), path).setups
    if not setups:
        return {}
    setup = setups[0]
    kinds, labels, origins = {}, {}, {}
    for role in ROLES:
        binding = setup.role(role)
        if binding is None:
            kinds[role] = None if setup.unresolved_star else "none"
            continue
        origins[role] = binding.origin
        kind = model_kind(binding.origin)
        kinds[role] = None if kind == ModelKind.UNKNOWN else kind.value
        keyword = binding.origin.keyword("num_labels")
        labels[role] = keyword.value.value if keyword is not None and keyword.value.known else None
    same = {}
    for a, b in combinations(ROLES, 2):
        first, second = origins.get(a), origins.get(b)
        known = first is not None and second is not None and first.key and second.key
        same[f"{a}={b}"] = same_object(first, second) if known else None
    return {"kind": kinds, "same": same, "num_labels": labels}


def run_engine(engine: str, paths: list[str]) -> dict:
    """{path: {"answers", "cpu"}} for one engine over every path, in this process."""
    results = {}
    if engine.startswith("astroid"):
        import evaluator_astroid
        from ppodoctor.setup.kinds import class_kind

        if engine == "astroid-brain":
            evaluator_astroid.install_brain()
    elif engine == "ours":
        import ppodoctor.setup.extract  # noqa: F401 - import time is not the evaluator's
    import libcst

    for path in paths:
        start = time.process_time()
        if engine == "libcst":
            libcst.parse_module(Path(path).read_bytes())
            found = {}
        elif engine == "ours":
            found = ours_answers(path)
        else:
            found = evaluator_astroid.answers_for(path, class_kind)
        results[path] = {"answers": found, "cpu": time.process_time() - start}
    return results


def engine_in_child(engine: str, paths: list[str], astroid_path: str) -> dict:
    environment = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if astroid_path:
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [astroid_path, environment.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, __file__, "--engine", engine], input=json.dumps(paths),
                          capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the corpus -------------------------------------------------------------------------------------------

def style_scripts(root: Path, models: Path, styles=None) -> dict[str, Path]:
    """fixtures/styles laid out under root with `models` linked beside each: {"styles/<s>/<script>.py": path}."""
    import shutil

    laid = {}
    for directory in sorted(path for path in STYLES_DIR.iterdir() if path.is_dir()):
        if styles is not None and directory.name not in styles:
            continue
        (root / directory.name).mkdir(parents=True)
        (root / directory.name / "models").symlink_to(models)
        for script in sorted(directory.glob("*.py")):
            laid[f"styles/{directory.name}/{script.name}"] = shutil.copy(script, root / directory.name)
        for data in (*directory.glob("*.json"), *directory.glob("*.yaml")):  # a script's own config file
            shutil.copy(data, root / directory.name)
    return {name: Path(path) for name, path in laid.items()}


def e2e_scripts(root: Path, models: Path) -> dict[str, Path]:
    """tests/e2e_matrix.py's scripts for the role mistakes (PPD1xx) and the clean setup, in every style:
    {"e2e/<case>-<style>": its train.py}."""
    from e2e_matrix import write_scripts

    written = write_scripts(root, models)
    return {f"e2e/{case}-{style}": path for (case, style), path in sorted(written.items())
            if case.startswith("PPD1") or case == "clean"}


def generated_scripts(root: Path, count: int) -> dict[str, tuple[Path, dict]]:
    import resolution

    resolution.generate(root, count)
    scripts = {}
    for path in sorted(root.glob("*.py")):
        style = path.stem.split("_", 1)[1]
        scripts[f"generated/{path.name}"] = (path, TEMPLATE_TRUTH[style])
    return scripts


def record_truth(scratch: Path) -> dict:
    """Run every style script in its era's interpreter up to its trainer call (evaluator_truth.py)."""
    from e2e_matrix import ENV, make_models

    expected = json.loads((STYLES_DIR / "expected.json").read_text())
    recorded = {}
    for era, facts in expected["eras"].items():
        if tuple(map(int, era.split("."))) > tuple(map(int, NEWEST_WITH_PPO.split("."))):
            continue  # RLOO/GRPO styles: there is no PPO trainer call to record
        python = str(ROOT / facts["python"])
        models = scratch / f"models-{Path(facts['python']).parts[0]}"  # one set per interpreter
        if not models.exists():
            make_models(python, models)
        laid = style_scripts(scratch / f"run-{era}", models)
        mine = {name: path for name, path in laid.items()
                if expected["styles"][name.split("/")[1]][Path(name).stem].get(
                    "era", expected["styles"][name.split("/")[1]]["era"]) == era}
        environment = dict(ENV, HOME=str(scratch))
        if facts.get("pythonpath"):
            environment["PYTHONPATH"] = str(ROOT / facts["pythonpath"])
        recorded.update(_record(python, environment, mine, era))
        if era == E2E_ERA:
            recorded.update(_record(python, environment, e2e_scripts(scratch / "e2e", models), era))
    return dict(sorted(recorded.items()))


def _record(python: str, environment: dict, scripts: dict[str, Path], era: str) -> dict:
    done = subprocess.run([python, str(ROOT / "benchmarks" / "evaluator_truth.py")], env=environment,
                          input=json.dumps([str(path) for path in scripts.values()]), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"recording with {python} failed: {done.stderr[-3000:]}")
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: dict(answers[str(path)], era=era) for name, path in scripts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)  # a child: paths on stdin
    parser.add_argument("--files", type=int, default=16, help="generated scripts (2 per template by default)")
    parser.add_argument("--astroid-path", default="", help="a directory holding astroid (locks/bench-astroid.txt)")
    parser.add_argument("--record-truth", action="store_true", help="run the style scripts again for their truth")
    parser.add_argument("--e2e", action=argparse.BooleanOptionalAction, default=True,
                        help="also tests/e2e_matrix.py's role cases in its 11 styles (165 scripts)")
    parser.add_argument("--show-wrong", action="store_true")
    options = parser.parse_args()
    if options.engine:
        print(json.dumps(run_engine(options.engine, json.loads(sys.stdin.read()))))
        return
    with tempfile.TemporaryDirectory(prefix="evaluator-choice-") as scratch:
        scratch = Path(scratch)
        if options.record_truth:
            TRUTH_FILE.write_text(json.dumps(record_truth(scratch), indent=1) + "\n")
            print(f"wrote {TRUTH_FILE.relative_to(ROOT)}")
        report(scratch, options)


def _models_for_check(out: Path) -> Path:
    """Configs and tokenizers only (no weights), as the scripts name them: what static analysis reads."""
    from test_style_corpus import _config_models

    return _config_models(out)


def report(scratch: Path, options) -> None:
    recorded = json.loads(TRUTH_FILE.read_text())
    styles = style_scripts(scratch / "styles", _models_for_check(scratch / "models"))
    for name in set(styles) - set(recorded):  # an RLOO/GRPO style: the questions are about PPO roles
        recorded[name] = {"error": "no truth recorded (no PPO trainer call)"}
    corpora = {"styles": {name: (path, recorded[name]) for name, path in styles.items()
                          if "error" not in recorded[name]}}
    if options.e2e:
        e2e = e2e_scripts(scratch / "e2e", scratch / "models")
        corpora["e2e"] = {name: (path, recorded[name]) for name, path in e2e.items() if "error" not in recorded[name]}
        skipped_e2e = sorted(set(e2e) - set(corpora["e2e"]))
        if skipped_e2e:
            print(f"no truth for {len(skipped_e2e)} e2e script(s): {', '.join(skipped_e2e)}")
    if options.files:
        (scratch / "generated").mkdir()
        corpora["generated"] = generated_scripts(scratch / "generated", options.files)
    skipped = [name for name in styles if "error" in recorded[name]]
    if skipped:
        print(f"no truth for {len(skipped)} script(s): " + "; ".join(f"{n} ({recorded[n]['error']})" for n in skipped))
    engines = list(ENGINES)
    if options.astroid_path:  # only to ask whether astroid imports; the engines run in children
        sys.path.insert(0, options.astroid_path)
    import evaluator_astroid

    why = evaluator_astroid.available()
    if why:
        print(f"astroid skipped: {why}")
        engines = [engine for engine in engines if not engine.startswith("astroid")]
    print(f"{'corpus':10} {'engine':14} {'files':>5} {'right':>6} {'wrong':>6} {'unknown':>7}  "
          f"{'CPU first file':>14} {'CPU/file after':>14}")
    for corpus, scripts in corpora.items():
        paths = [str(path) for path, _ in scripts.values()]
        truths = {name: truth for name, (_, truth) in scripts.items()}
        by_path = {str(path): name for name, (path, _) in scripts.items()}
        for engine in engines:
            results = engine_in_child(engine, paths, options.astroid_path)
            answered = {by_path[path]: result["answers"] for path, result in results.items()}
            cpu = [results[path]["cpu"] for path in paths]
            rest = sum(cpu[1:]) / max(len(cpu) - 1, 1)
            counts = score(truths, answered) if engine != "libcst" else {"right": "", "wrong": "", "unknown": ""}
            print(f"{corpus:10} {engine:14} {len(paths):5} {counts['right']:>6} {counts['wrong']:>6} "
                  f"{counts['unknown']:>7}  {cpu[0] * 1000:11.0f} ms {rest * 1000:11.1f} ms")
            if corpus == "styles" and engine != "libcst":
                rules = score(truths, answered, only_rules=True)
                asked = rules["right"] + rules["wrong"] + rules["unknown"]
                print(f"{'':10} {'  rule q.':14} {asked:5} {rules['right']:>6} {rules['wrong']:>6} "
                      f"{rules['unknown']:>7}")
            if options.show_wrong and engine != "libcst":
                for line in counts["wrong_list"]:
                    print(f"    wrong: {line}")


if __name__ == "__main__":
    main()

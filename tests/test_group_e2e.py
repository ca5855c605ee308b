"""End to end on the CPU in trl 1.16: RLOO and GRPO scripts broken one way each fail in real TRL with the
rule's own error, `check` finds them, `fix --write` patches those with a fix, and the patched scripts train
to the end; the correct twins are found clean, left byte for byte by `fix --write`, and train.

Two styles (fixtures/group/): a GRPO script with a reward function and a config variable; an RLOO script
with the policy object, a reward function and a reward-model path in one list, the config built inside the
call, everything passed by position. `fix --write` is the plain one, the probe on (`--python` names trl
1.16's interpreter): every fix is written because the probe confirmed it there (probe/worker_group.py: the
config rebuilt, the reward functions called by TRL's own `_calculate_rewards`, ...), and one it refutes
(a fix that leaves the config invalid) is not written, with TRL's error, the one the script then meets.
The matrix runs each step once over a tree of all its scripts (the runs in forked children of one warm
trl 1.16 interpreter), as a user fixes a project: half the time of a process per script and step.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor.rules import find_rule
from e2e_matrix import run_scripts
from test_e2e_trl import run

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "group"
STYLES = ("grpo_function", "rloo_list")

# code -> (the correct text, its broken replacement) in each style; None: that style cannot show it.
BREAKS = {
    "PPD601": {"grpo_function": ("num_generations=2", "num_generations=3"),
               "rloo_list": ("num_generations=2", "num_generations=3")},
    "PPD602": {"grpo_function": ("num_generations=2", "num_generations=1"),
               "rloo_list": ("num_generations=2", "num_generations=1")},
    "PPD603": {"grpo_function": ("def length_reward(completions, **kwargs)", "def length_reward(completions)"),
               "rloo_list": ("def brevity(completions, **kwargs)", "def brevity(completions)")},
    "PPD604": {"grpo_function": ('{"prompt": [', '{"question": ['),
               "rloo_list": ('"prompt":', '"question":')},
    "PPD606": {"grpo_function": ("    num_generations=2,\n", "    num_generations=2,\n    kl_coef=0.05,\n"),
               "rloo_list": ("num_generations=2,", "num_generations=2, cliprange=0.2,")},
    # one tokenizer for a function and a model: the fix pairs them [None, tokenizer]
    "PPD608": {"rloo_list": ("    processing_class=tokenizer,\n",
                             "    processing_class=tokenizer,\n    reward_processing_classes=tokenizer,\n")},
}
FIXABLE = ("PPD601", "PPD602", "PPD603", "PPD606", "PPD608")
CASES = [(code, style) for code in BREAKS for style in STYLES if style in BREAKS[code]]


@pytest.fixture(scope="module")
def models(models116: Path) -> Path:
    return models116


def ppodoctor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)


def fix_write(python116: str, script: Path) -> subprocess.CompletedProcess:
    """Plain `fix --write`: the probe confirms each fix in trl 1.16's interpreter before it is written."""
    return ppodoctor("fix", "--write", "--python", python116, script.name, cwd=script.parent)


def found_codes(script: Path) -> list[str]:
    done = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "concise", script.name, cwd=script.parent)
    return re.findall(r":\d+:\d+: (PPD\d+)", done.stdout)


def place(tmp_path: Path, models: Path, style: str, text: str) -> Path:
    (tmp_path / "models").symlink_to(models, target_is_directory=True)
    script = tmp_path / f"{style}.py"
    script.write_text(text)
    return script


def broken_text(code: str, style: str) -> str:
    correct, broken = BREAKS[code][style]
    text = (SCRIPTS / f"{style}.py").read_text()
    assert correct in text, (code, style)
    return text.replace(correct, broken)


def _lay_out(root: Path, models: Path, texts: dict) -> dict:
    """Each script in a folder of its own with `models` linked in: {name: path}."""
    paths = {}
    for name, text in texts.items():
        (root / name).mkdir()
        paths[name] = place(root / name, models, name.split("-")[-1], text)
    return paths


def _trained(result: dict, script: Path) -> bool:
    """The runner's result for `script` says it trained to the end (TRL's summary line printed)."""
    said = Path(f"{script}.stdout").read_text(errors="replace") + result["stderr"]
    return result["returncode"] == 0 and "'train_runtime'" in said


def _codes_by_file(root: Path) -> dict:
    """`check --trl-version 1.16.0` over the tree in one run: {script name: its codes}."""
    done = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "json", ".", cwd=root)
    found: dict = {}
    for finding in json.loads(done.stdout):
        found.setdefault(Path(finding["filename"]).parent.name, []).append(finding["code"])
    return {name: sorted(codes) for name, codes in found.items()}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, models, python116):
    """Every broken case and correct twin, each step batched over the whole tree as a user would run it:
    the scripts in real trl 1.16 (tests/e2e_runner.py: forked children of one warm interpreter), `check`
    once over the tree, plain `fix --write` once over it (the probe confirming each fix in trl 1.16), and
    the scripts it changed run again."""
    texts = {f"{code}-{style}": broken_text(code, style) for code, style in CASES}
    texts.update({f"twin-{style}": (SCRIPTS / f"{style}.py").read_text() for style in STYLES})
    root = tmp_path_factory.mktemp("group-e2e")
    paths = _lay_out(root, models, texts)
    before = run_scripts(python116, list(paths.values()))
    checked = _codes_by_file(root)
    written = fix_write_tree(python116, root)
    said = written.stdout + written.stderr
    outcomes = {name: re.findall(rf"{re.escape(name)}/\S+\.py:\d+:\d+: (PPD\d+ .*)$", said, re.MULTILINE)
                for name in paths}
    changed = [path for name, path in paths.items() if path.read_text() != texts[name]]
    after = run_scripts(python116, changed) if changed else {}
    return dict(texts=texts, paths=paths, before={n: before[str(p)] for n, p in paths.items()}, checked=checked,
                written=written, outcomes=outcomes, rechecked=_codes_by_file(root),
                after={n: after[str(p)] for n, p in paths.items() if str(p) in after})


def fix_write_tree(python116: str, root: Path) -> subprocess.CompletedProcess:
    return ppodoctor("fix", "--write", "--python", python116, ".", cwd=root)


@pytest.mark.parametrize("code, style", CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_broken_scripts_fail_are_found_fixed_and_train(code, style, matrix):
    name = f"{code}-{style}"
    failed, path = matrix["before"][name], matrix["paths"][name]
    # 1. real trl 1.16 fails with the error the rule says it prevents
    assert failed["returncode"] != 0, "the broken script trained"
    rule = find_rule(code)
    assert any(re.search(known.pattern, failed["stderr"]) for known in rule.known_errors), failed["stderr"][-1500:]
    # 2. check finds it, and nothing else
    assert matrix["checked"].get(name) == [code]
    if code not in FIXABLE:
        assert path.read_text() == matrix["texts"][name], "no fix, nothing written"
        return
    # 3. fix --write patches it, the probe having confirmed the fix in trl 1.16; 4. the patched script trains
    assert matrix["outcomes"][name] == [f"{code} fixed (confirmed)"], matrix["written"].stdout + matrix["written"].stderr
    assert path.read_text() != matrix["texts"][name]
    assert matrix["rechecked"].get(name) is None, matrix["rechecked"].get(name)
    assert _trained(matrix["after"][name], path), f"{path.read_text()}\n{matrix['after'][name]['stderr'][-2000:]}"


@pytest.mark.parametrize("style", STYLES)
def test_correct_twins_are_clean_untouched_and_train(style, matrix):
    name = f"twin-{style}"
    assert matrix["checked"].get(name) is None
    assert matrix["outcomes"][name] == [] and matrix["paths"][name].read_text() == matrix["texts"][name]
    assert _trained(matrix["before"][name], matrix["paths"][name]), matrix["before"][name]["stderr"][-2000:]


def test_fix_write_over_the_tree_exits_as_ruff_does(matrix):
    """Every finding of the tree fixed but the unfixable ones (PPD604: no fix): exit 1, they remain."""
    assert matrix["written"].returncode == 1, matrix["written"].stdout + matrix["written"].stderr
    assert set(matrix["rechecked"]) == {f"{code}-{style}" for code, style in CASES if code not in FIXABLE}


def test_use_vllm_without_vllm_fails_is_found_against_the_interpreter_and_fixed(models, python116, tmp_path):
    """PPD607 knows what the target interpreter has only when asked with --python (trl 1.16 has no vLLM)."""
    text = (SCRIPTS / "grpo_function.py").read_text().replace("    use_cpu=True,\n",
                                                              "    use_cpu=True,\n    use_vllm=True,\n")
    script = place(tmp_path, models, "grpo_function", text)
    failed = run(python116, script)
    assert failed.returncode != 0 and re.search(find_rule("PPD607").known_errors[0].pattern, failed.stderr), \
        failed.stderr[-1500:]
    assert found_codes(script) == []  # --trl-version alone: the installed packages are not known
    checked = ppodoctor("check", "--python", python116, "--output-format", "concise", script.name, cwd=tmp_path)
    assert re.findall(r":\d+:\d+: (PPD\d+)", checked.stdout) == ["PPD607"], checked.stdout
    written = fix_write(python116, script)
    assert written.returncode == 0, written.stdout + written.stderr
    assert "PPD607 fixed (confirmed)" in written.stdout + written.stderr, written.stdout + written.stderr
    assert "use_vllm=False" in script.read_text()
    done = run(python116, script)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'train_runtime'" in done.stdout + done.stderr


def test_a_fix_that_leaves_the_config_invalid_is_refuted_with_trls_error(models, python116, tmp_path):
    """num_generations=3 (PPD601, fixable) beside `vf_coef` (PPD606: a PPO critic field with no counterpart, no
    fix): the 601 fix alone would leave GRPOConfig raising on vf_coef, so the probe refutes it and nothing is
    written; the reason it gives is the TypeError real trl 1.16 raises on the script."""
    text = (SCRIPTS / "grpo_function.py").read_text().replace("    num_generations=2,\n",
                                                              "    num_generations=3,\n    vf_coef=0.1,\n")
    script = place(tmp_path, models, "grpo_function", text)
    assert found_codes(script) == ["PPD601", "PPD606"]
    failed = run(python116, script)
    assert failed.returncode != 0
    trl_error = "GRPOConfig.__init__() got an unexpected keyword argument 'vf_coef'"
    assert trl_error in failed.stderr, failed.stderr[-1500:]
    written = fix_write(python116, script)
    said = written.stdout + written.stderr
    assert written.returncode == 1, said
    assert re.search(r"PPD601 not fixed: refuted: the fixed setup still fails: the GRPOConfig: .*" + re.escape(trl_error),
                     said), said
    assert script.read_text() == text


REWARDS_MODULE = "def length_reward(completions{rest}):\n    return [-abs(8 - len(text)) / 10.0 for text in completions]\n"


def test_a_reward_function_of_a_project_module_is_found_and_fixed_there(models, python116, tmp_path):
    """The reward function comes from `rewards.py` beside the script: the finding is at the trainer's
    argument and points at the function there; `fix --write` edits that module (the probe confirming it
    over the module's new text), leaves the script as it was, and the run trains."""
    text = (SCRIPTS / "grpo_function.py").read_text()
    own = "def length_reward(completions, **kwargs):\n    return [float(len(completion)) for completion in completions]\n"
    assert own in text
    script = place(tmp_path, models, "grpo_function", "from rewards import length_reward\n" + text.replace(own, ""))
    module = tmp_path / "rewards.py"
    module.write_text(REWARDS_MODULE.format(rest=""))
    failed = run(python116, script)
    assert "got an unexpected keyword argument 'prompts'" in failed.stderr, failed.stderr[-1500:]
    done = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "json", script.name, cwd=tmp_path)
    (finding,) = json.loads(done.stdout)
    assert finding["code"] == "PPD603" and finding["fix"]["applicability"] == "safe"
    assert [(r["filename"], r["location"]["row"]) for r in finding["related"]] == [("rewards.py", 1)]
    before = script.read_bytes()
    written = fix_write(python116, script)
    assert "PPD603 fixed (confirmed)" in written.stdout + written.stderr, written.stdout + written.stderr
    assert module.read_text() == REWARDS_MODULE.format(rest=", **kwargs") and script.read_bytes() == before
    trained = run(python116, script)
    assert trained.returncode == 0 and "'train_runtime'" in trained.stdout + trained.stderr, trained.stderr[-2000:]

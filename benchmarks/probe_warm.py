"""The warm probe: the first probe after start, a re-probe of a changed file in the warm worker, and
`ppodoctor fix --write` on 10 files.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/probe_warm.py [--runs 5] [--python PATH]
                                                                              [--baseline /path/to/other/tree]

1. First probe after start (cold): a new worker pool, one probe of a broken script (no value model,
   the shipped config-only fixture models): the interpreter start and `import torch, transformers,
   trl` are in it. Before the warm worker every probe cost this.
2. Re-probe of a changed file (warm): the script is changed (a value model added or removed, the
   config's output_dir renamed), parsed again and probed by the worker of step 1, as the language
   server does after a save. Target: under 0.5 s.
3. `fix --write` on 10 files: copies of fixtures/fix/*/input.py with `sft`/`rm` checkpoints beside
   them (fixture configs and tokenizer), in a fresh `python -m ppodoctor` each run; with --baseline,
   the same command on another source tree (the code before this change), interleaved.

The minimum is the figure, the median beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))

from ppodoctor.core import check_file  # noqa: E402
from ppodoctor.probe import ProbeOptions, probe_files  # noqa: E402
from ppodoctor.probe.warm import WorkerPool  # noqa: E402
from probe_helpers import MODELS, new_script  # noqa: E402

# Fixed by the probe's confirmation in trl 1.12 with the checkpoints below (see fixtures/fix).
FIX_CASES = ("bom", "comments_and_parens", "crlf", "latin1", "num_labels", "policy_value_head", "reference_inline",
             "reward_classifier", "value_in_helper", "value_is_policy")


def _variant(run: int) -> str:
    """A changed script each run: the value model there or not, the output directory renamed."""
    return new_script(value=None if run % 2 else "llama-rm", config=f"PPOConfig(output_dir='out{run}', use_cpu=True)")


def probe_figures(runs: int, python: str, directory: Path) -> tuple[list[float], list[float]]:
    script = directory / "train_ppo.py"
    cold, warm = [], []
    for run in range(runs):
        pool = WorkerPool()
        try:
            with pool.active():
                script.write_text(_variant(0))
                started = time.perf_counter()
                (first,) = probe_files([check_file(script).setup], ProbeOptions(python=python))
                cold.append(time.perf_counter() - started)
                for change in range(1, 4):
                    script.write_text(_variant(run * 4 + change))
                    started = time.perf_counter()
                    (again,) = probe_files([check_file(script).setup], ProbeOptions(python=python))
                    warm.append(time.perf_counter() - started)
                    if not (again.ok and again.warm and again.worker_pid == first.worker_pid):
                        sys.exit(f"the re-probe was not answered by the warm worker ({again.reason or 'a fresh one'}"
                                 "; a package installed into the interpreter meanwhile restarts it)")
        finally:
            pool.close()
    return cold, warm


def fix_tree(directory: Path) -> list[Path]:
    """The 10 broken scripts, fresh, and the checkpoints their relative paths name."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    for name, parts in (("sft", ("llama-causal", "tok-pad")), ("rm", ("llama-rm", "tok-pad"))):
        (directory / name).mkdir()
        for part in parts:
            for file in (MODELS / part).iterdir():
                shutil.copy(file, directory / name / file.name)
    scripts = []
    for case in FIX_CASES:
        scripts.append(directory / f"{case}.py")
        shutil.copy(ROOT / "fixtures" / "fix" / case / "input.py", scripts[-1])
    return scripts


def fix_figures(runs: int, python: str, directory: Path, trees: dict[str, Path]) -> dict[str, list[float]]:
    base = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    times: dict[str, list[float]] = {name: [] for name in trees}
    for run in range(runs + 1):  # the first round writes bytecode and warms the page cache
        for name, tree in trees.items():
            scripts = fix_tree(directory / "fix")
            before = [script.read_bytes() for script in scripts]
            started = time.perf_counter()
            done = subprocess.run([python, "-m", "ppodoctor", "fix", "--write", *map(str, scripts)], cwd=directory / "fix",
                                  env=dict(base, PYTHONPATH=str(tree)), capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            changed = sum(script.read_bytes() != old for script, old in zip(scripts, before))
            if changed != len(scripts):
                sys.exit(f"{name}: fix --write wrote {changed} of {len(scripts)} files:\n{done.stdout}{done.stderr}")
            if run:
                times[name].append(elapsed)
    return times


def line(name: str, values: list[float]) -> str:
    return f"{name:<58} {min(values):>7.2f}s {statistics.median(values):>7.2f}s  ({len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable,
                        help="the target interpreter (torch, transformers, trl 1.12; ppodoctor importable)")
    parser.add_argument("--baseline", type=Path, help="another ppodoctor source tree to time fix --write against")
    options = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set; users run with bytecode (env -u PYTHONDONTWRITEBYTECODE)")
    with tempfile.TemporaryDirectory() as directory:
        cold, warm = probe_figures(options.runs, options.python, Path(directory))
        trees = {"this tree": ROOT, **({f"baseline ({options.baseline})": options.baseline} if options.baseline else {})}
        fixes = fix_figures(options.runs, options.python, Path(directory), trees)
    print(f"{'':<58} {'min':>8} {'median':>8}  (runs)")
    print(line("first probe after start (cold: interpreter + imports)", cold))
    print(line("re-probe of a changed file, warm worker (parse + probe)", warm))
    for name, values in fixes.items():
        print(line(f"fix --write on {len(FIX_CASES)} files, {name}", values))
    print(f"warm re-probe: {min(warm):.2f} s (target: under 0.5 s) against {min(cold):.2f} s cold")


if __name__ == "__main__":
    main()

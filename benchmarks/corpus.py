"""Throughput over a large corpus of real Python: ppodoctor check against reading the files, ruff and fixit.

Run: python benchmarks/corpus.py [--runs 3] [--tools-venv DIR] [--fixit-sample 200]

The corpus is the installed sources of transformers, trl, datasets, accelerate, peft and diffusers
(those not installed are fetched with `pip download --no-deps` into --cache and unpacked). Every
figure is the wall time of a fresh process, end to end (start-up included), the minimum of --runs:
  - read floor: a Python process that walks the same directories and reads every .py file;
  - ppodoctor check (default options: .gitignore, prefilter, worker pool);
  - ruff check --no-cache and fixit lint, from --tools-venv (`pip install fixit ruff` there, never into
    the project); fixit on an evenly spaced sample of --fixit-sample files, as it is slow.
Targets: ppodoctor ≥ 10 × fixit's files/s, and within 3 × the read floor's time. A last line, for the
record, times a tree of nothing but PPO scripts, where every file goes to libcst.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

PACKAGES = ("transformers", "trl", "datasets", "accelerate", "peft", "diffusers")

FLOOR = """
import os, sys
count = size = 0
for root in sys.argv[1:]:
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for name in names:
            if name.endswith((".py", ".pyi")):
                with open(os.path.join(directory, name), "rb") as handle:
                    size += len(handle.read())
                count += 1
print(count, size)
"""


def locate(package: str, cache: Path) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    unpacked = cache / "src" / package
    if not unpacked.is_dir():
        wheels = cache / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", str(wheels), package], check=True)
        wheel = max(wheels.glob(f"{package}-*.whl"), key=lambda path: path.stat().st_mtime)
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(f"{package}/")]
            archive.extractall(cache / "src", members)
    return unpacked


def timed(command: list[str], runs: int, **options) -> tuple[float, subprocess.CompletedProcess]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, **options)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ppodoctor-bench-corpus")
    parser.add_argument("--tools-venv", type=Path, default=None, help="a venv with fixit and ruff installed")
    parser.add_argument("--fixit-sample", type=int, default=200)
    parser.add_argument("--ppo-copies", type=int, default=5, help="copies of the PPO fixtures for the parse-bound row")
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    roots = [locate(package, options.cache) for package in PACKAGES]

    from ppodoctor import files
    from ppodoctor.setup.relevance import may_matter

    found = [path for path, problem in files.discover(roots) if problem is None]
    candidates = [data for path in found if files.may_hold_setup(data := path.read_bytes())]
    parsed = sum(1 for data in candidates if may_matter(data.decode("utf-8", "replace")))
    total_bytes = sum(path.stat().st_size for path in found)
    print(f"corpus: {', '.join(PACKAGES)}: {len(found)} files, {total_bytes / 1e6:.1f} MB; "
          f"{len(candidates)} pass the byte prefilter, {parsed} of them can matter to a rule and go to libcst")
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; minimum of {options.runs} runs")

    rows = []
    subprocess.run([sys.executable, "-c", FLOOR, *map(str, roots)], capture_output=True)  # page cache
    floor, result = timed([sys.executable, "-c", FLOOR, *map(str, roots)], options.runs)
    rows.append(("read floor (walk + read every .py)", int(result.stdout.split()[0]), floor))
    command = [sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise", *map(str, roots)]
    subprocess.run(command, capture_output=True, env=environment)  # writes bytecode
    seconds, result = timed(command, options.runs, env=environment)
    assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr, result.stderr[-2000:]
    rows.append(("ppodoctor check", len(found), seconds))
    fixit_rate = None
    if options.tools_venv is not None:
        ruff, fixit = options.tools_venv / "bin" / "ruff", options.tools_venv / "bin" / "fixit"
        if ruff.exists():
            seconds, _ = timed([str(ruff), "check", "--no-cache", "--exit-zero", "--quiet", *map(str, roots)],
                               options.runs)
            rows.append(("ruff check --no-cache (default rules)", len(found), seconds))
        if fixit.exists():
            step = max(1, len(found) // options.fixit_sample)
            sample = [str(path) for path in found[::step]][: options.fixit_sample]
            start = time.perf_counter()
            subprocess.run([str(fixit), "lint", *sample], capture_output=True)
            seconds = time.perf_counter() - start
            fixit_rate = len(sample) / seconds
            rows.append((f"fixit lint (sample of {len(sample)})", len(sample), seconds))

    print(f"{'':<42} {'files':>6} {'seconds':>8} {'files/s':>9} {'× floor time':>13}")
    for name, count, seconds in rows:
        print(f"{name:<42} {count:>6} {seconds:8.2f} {count / seconds:9.0f} {seconds / floor * len(found) / count:13.2f}")
    ours = len(found) / rows[1][2]
    if fixit_rate:
        print(f"ppodoctor files/s ÷ fixit files/s = {ours / fixit_rate:.0f}× (target ≥ 10×)")
    print(f"ppodoctor time ÷ read floor time = {rows[1][2] / floor:.2f}× (target ≤ 3×)")
    ppo_heavy(options, environment)


def ppo_heavy(options, environment: dict) -> None:
    """The other extreme, for the record (no target): a tree where every file is a PPO script that
    libcst must parse (the project's fixtures that can matter, copied --ppo-copies times)."""
    from ppodoctor.setup.relevance import may_matter

    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    scripts = [path for path in sorted(fixtures.rglob("*.py"))
               if may_matter(path.read_text(encoding="utf-8", errors="replace"))]
    with tempfile.TemporaryDirectory() as directory:
        for copy in range(options.ppo_copies):
            for number, script in enumerate(scripts):
                (Path(directory) / f"copy{copy}_{number:03}_{script.name}").write_bytes(script.read_bytes())
        count = options.ppo_copies * len(scripts)
        command = [sys.executable, "-m", "ppodoctor", "check", "--trl-version", "1.12.0", "--output-format",
                   "concise", directory]
        seconds, _ = timed(command, options.runs, env=environment)
        print(f"PPO scripts only ({count} files, every one parsed by libcst): ppodoctor {count / seconds:.0f} files/s",
              end="")
        fixit = options.tools_venv / "bin" / "fixit" if options.tools_venv else None
        if fixit is not None and fixit.exists():
            start = time.perf_counter()
            subprocess.run([str(fixit), "lint", directory], capture_output=True)
            rate = count / (time.perf_counter() - start)
            print(f", fixit {rate:.1f} files/s ({count / seconds / rate:.0f}×)", end="")
        print()


if __name__ == "__main__":
    main()

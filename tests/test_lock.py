"""The locks in locks/: what scripts/setup installs, what the tests run on, what the era data measured."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "locks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return module


lockcheck = _script("lockcheck")
LOCK_FILES = sorted(LOCKS.glob("*.txt"))


def test_every_environment_has_a_lock():
    # bench-astroid.txt: no environment, astroid for benchmarks/evaluator_choice.py alone (installed by hand)
    assert {path.name for path in LOCK_FILES} == {"venv.txt", "trl012.txt", "trl116.txt", "trl011-site.txt",
                                                   "deepspeed-site.txt", "bench-astroid.txt"}
    for request in LOCKS.glob("*.in"):
        assert (LOCKS / f"{request.stem}.txt").is_file(), request


@pytest.mark.parametrize("lock", LOCK_FILES, ids=lambda path: path.name)
def test_a_lock_pins_every_package_exactly(lock):
    pins = lockcheck.read_lock(lock)
    assert pins
    for line in lock.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        assert not text or "==" in text, line
    request = lock.with_suffix(".in")
    if request.is_file():  # what is asked for exactly is what the lock holds
        for line in request.read_text().splitlines():
            name, equals, version = line.split("#", 1)[0].strip().partition("==")
            if equals:
                assert pins[lockcheck.canonical(name)] == version, (lock.name, line)


def test_the_torch_pin_is_the_cpu_wheels_public_version():
    # pip's constraint `torch==2.13.0` matches the local `2.13.0+cpu` wheel; a locked `+cpu` would
    # not match a machine whose wheel carries no local label.
    for lock in LOCK_FILES:
        for name, version in lockcheck.read_lock(lock).items():
            assert "+" not in version, (lock.name, name, version)


def test_differences_name_extra_other_and_missing_packages():
    lock = {"torch": "2.13.0", "trl": "1.12.0", "click": "8.5.1"}
    have = {"torch": "2.13.0", "trl": "1.13.0", "rich": "15.0.0"}
    assert lockcheck.differences(have, lock, exact=False) == [
        "rich==15.0.0 is installed but not in the lock",
        "trl==1.13.0 is installed, the lock says 1.12.0",
    ]
    assert lockcheck.differences(have, lock, exact=True)[-1] == "click==8.5.1 is in the lock but not installed"
    assert lockcheck.differences({"torch": "2.13.0"}, lock, exact=False) == []


def test_this_environment_is_its_lock():
    """The suite runs in scripts/setup's .venv: exactly locks/venv.txt (the [server] and [test] extras in)."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("not run from scripts/setup's .venv")
    found = lockcheck.differences(lockcheck.installed(sys.executable), lockcheck.read_lock(LOCKS / "venv.txt"),
                                  exact=True)
    assert found == []


@pytest.mark.parametrize("package, data", [("transformers", "training_arguments.json"), ("trl", "table.json")])
def test_the_era_data_measured_every_locked_release(package, data):
    """scripts/update-lock regenerates the era data: every release a lock pins was read from its wheel."""
    wheels = _script("wheels")
    measured = json.loads((ROOT / "ppodoctor" / "trl_api" / data).read_text())["versions"]
    locked = wheels.locked_versions(package)
    assert locked
    assert set(locked) <= set(measured), sorted(set(locked) - set(measured))

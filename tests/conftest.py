from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Never reach a hub from the tests, whatever a test builds.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def ppodoctor_command() -> list[str]:
    return [sys.executable, "-m", "ppodoctor"]


@pytest.fixture(scope="session")
def python116() -> str:
    """The trl 1.16 interpreter (RLOO/GRPO and migrate's targets), or the test is skipped."""
    from migrate_helpers import trl116_python

    python = trl116_python()
    if python is None:
        pytest.skip("no trl 1.16 interpreter (.venv-trl116; scripts/setup makes it)")
    return python


@pytest.fixture(scope="session")
def models116(tmp_path_factory, python116) -> Path:
    """The tiny models saved once a session by trl 1.16's transformers (5.24, the one beside trl 1.12 too)."""
    from test_e2e_trl import make_models

    out = tmp_path_factory.mktemp("models116") / "models"
    make_models(python116, out)
    return out

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

#!/usr/bin/env python
"""Run the property tests of tests/test_fuzz.py with many more examples than CI does, randomised.

    python scripts/fuzz.py                 # 2,000 examples per property
    python scripts/fuzz.py --examples 20000 -k generated

Hypothesis keeps every failure it finds in .hypothesis/ and replays it first on the next run, so a
crash found here becomes a regular failing test until it is fixed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property (CI runs 100)")
    parser.add_argument("-k", dest="select", default=None, help="only the properties whose name matches")
    options, rest = parser.parse_known_args()
    environment = dict(os.environ, PPODOCTOR_FUZZ_EXAMPLES=str(options.examples))
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_fuzz.py"), "-q",
               "--hypothesis-show-statistics", *(["-k", options.select] if options.select else []), *rest]
    return subprocess.call(command, cwd=ROOT, env=environment)


if __name__ == "__main__":
    sys.exit(main())

"""setup.relevance: Python's parser decides which prefiltered files libcst must see.

It may send libcst a file with nothing to report; it must never hold back one with a finding. The
equivalence over real files, rule examples and mutations lives in test_files_prefilter.py and
test_fuzz.py (assert_skipping_loses_nothing); here are the cases it is built on.
"""

from __future__ import annotations

import pytest

from ppodoctor import api
from ppodoctor.rules import all_rules
from ppodoctor.setup.extract import TRAINER_NAMES as EXTRACT_TRAINER_NAMES
from ppodoctor.setup.relevance import TRAINER_NAMES, may_matter
from ppodoctor.trl_api import table
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES
from test_files_scan import imported_by

MATTERS = [
    "from trl import PPOTrainer\n",
    "import trl\ntrainer = trl.PPOTrainer(config, model)\n",
    "from trl import PPOv2Trainer as T\n",
    "from trl.experimental.ppo import PPOTrainer\n",
    "from trl.experimental.ppo import ppo_trainer\n",
    "from trl.trainer.ppo_trainer import PPOTrainer\n",
    "from trl import *\n",
    "import trl.core\n",
    "import trl.experimental.ppo as ppo\n",
    "from trl import AutoModelForCausalLMWithValueHead\n",
    "from trl.core import respond_to_batch\n",
    "from trl import create_reference_model\n",
    "from mylib import *\ntrainer = PPOTrainer(args=config)\n",
    "class Mine(PPOTrainer):\n    pass\n",
    "def f():\n    from trl import PPOConfig\n",
    "T = trainers.PPOv2Trainer\n",
    "x = (\n",  # Python cannot parse it: libcst reports it
    "x = 1\x00\n",
    "def f(:\n    pass\n",
]
DOES_NOT_MATTER = [
    "",
    "import trl\n",
    "from trl import SFTTrainer, SFTConfig\ntrainer = SFTTrainer(model=m, args=SFTConfig())\n",
    "from trl import GRPOTrainer\n",
    "class PPOTrainer(BaseTrainer):\n    '''PPOTrainer(...) builds one.'''\n",
    "from .ppo_trainer import PPOTrainer\n__all__ = ['PPOTrainer']\n",
    "from ..trl import PPOConfig\n",
    "from trlx import PPOTrainer as T\n",
    "from trl.trainer import utils\n",
    "import trl_helpers.core\n",
    "config = PPOConfig(output_dir='out')\n",
    "def train(args: PPOConfig):\n    return args.learning_rate\n",
    "# PPOTrainer(config, model, ref_model, tokenizer)\n",
    "message = 'use PPOTrainer from trl.experimental.ppo'\n",
]


@pytest.mark.parametrize("text", MATTERS)
def test_what_can_hold_a_setup_or_an_era_import_goes_to_libcst(text):
    assert may_matter(text)


@pytest.mark.parametrize("text", DOES_NOT_MATTER)
def test_what_cannot_is_answered_without_libcst(text):
    assert not may_matter(text)


def test_every_tracked_name_imported_from_trl_matters():
    for name in table.tracked_names():
        assert may_matter(f"from trl import {name}\n"), name
        assert may_matter(f"from trl.trainer import {name} as renamed\n"), name


def test_the_extractor_and_the_fast_path_agree_on_the_trainers():
    assert set(EXTRACT_TRAINER_NAMES) == set(TRAINER_NAMES) == {"PPOTrainer", "PPOv2Trainer", "RLOOTrainer", "GRPOTrainer"}


def test_every_invalid_rule_example_and_every_fixture_with_findings_matters():
    for rule in all_rules():
        for example in rule.examples("invalid"):
            assert may_matter(example.code), (rule.code, example.code)
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        report = api.check_source(path.read_bytes(), str(path), target=Target.of("1.12.0"))
        if report.diagnostics:
            assert may_matter(text), path


def test_a_file_that_cannot_matter_gets_the_same_empty_report_as_before():
    text = "from trl import SFTTrainer\ntrainer = SFTTrainer(model=m)\n"
    report = api.check_source(text, "sft.py", target=Target.of("1.12.0"))
    assert report.error is None and report.diagnostics == () and report.setup.setups == ()
    assert report.source is not None and report.source.text == text


@pytest.mark.parametrize("text, libcst_expected", [
    ("from trl import SFTConfig, SFTTrainer\ntrainer = SFTTrainer(model=m, args=SFTConfig())\n", False),
    ("from trl import PPOConfig, PPOTrainer\ntrainer = PPOTrainer(args=PPOConfig(), model=m)\n", True),
])
def test_libcst_is_imported_only_for_files_that_can_matter(tmp_path, text, libcst_expected):
    script = tmp_path / "train.py"
    script.write_text(text)
    assert ("libcst" in imported_by("--trl-version", "1.12.0", str(script))) == libcst_expected


def test_the_users_compile_time_warnings_are_not_ours_to_print():
    import warnings

    text = 'import re\nfrom trl import SFTTrainer\npattern = re.compile("\\d+")\n"not callable"()\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not may_matter(text)
    assert caught == []

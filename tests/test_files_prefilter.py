"""The byte prefilter: it may let through files with no setup, never skip one that has something to say."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst
import pytest

from ppodoctor import api, files
from ppodoctor.rules import all_rules
from ppodoctor.setup.extract import extract
from ppodoctor.setup.relevance import may_matter
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES

MAY_HOLD = [
    b"import trl", b"\xef\xbb\xbffrom trl.trainer import x", b"  import os, trl as t", b"import a.b as c, trl",
    b"x = 1; import trl", b"try: import trl\nexcept ImportError: pass", b"from \\\n    trl import x",
    b"from \\\r\n  trl import x", b"import os,\\\n trl", b"x = 1\r\nimport trl\r\n", b"y = 1\rimport\ttrl",
    b"class Mine(PPOv2Trainer): pass", b"t = PPOTrainer(config, model)", b"print(trl)\nfrom trl import a",
    b"ctrl = 1\nfrom trl import a", b"\x0cimport trl",
]
CANNOT_HOLD = [
    b"", b"# the trl library", b'url = "https://github.com/huggingface/trl"', b"from trlx import a",
    b"import trl_utils", b"from .trl import x", b"from ..trl import x", b"import x.trl", b'a = "trl"\nimport os',
    b"ctrl_key = 1", b"PPOConfig(output_dir='x')", b"self.trl = 1", b"trl",
]


@pytest.mark.parametrize("data", MAY_HOLD)
def test_names_or_imports_of_trl_pass(data):
    assert files.may_hold_setup(data)


@pytest.mark.parametrize("data", CANNOT_HOLD)
def test_mentions_that_cannot_matter_are_skipped(data):
    assert not files.may_hold_setup(data)


def rule_examples():
    for rule in all_rules():
        for which in ("invalid", "valid"):
            for number, example in enumerate(rule.examples(which)):
                yield pytest.param(rule, which, example, id=f"{rule.code}-{which}-{number}")


@pytest.mark.parametrize("rule, which, example", list(rule_examples()))
def test_no_rule_example_is_hidden_by_the_prefilter(rule, which, example):
    data = example.code.encode("utf-8")
    if which == "invalid":
        assert files.may_hold_setup(data), f"{rule.code}'s finding would never be seen"
    else:
        assert_skipping_loses_nothing(data, example.trl_version)


def assert_skipping_loses_nothing(data: bytes, version: str = "1.12.0") -> None:
    """Where the byte prefilter says no, extract finds nothing and no rule fires, at any era; where
    Python's parser says the text cannot matter (setup.relevance), extract finds no trainer and no
    rule fires either."""
    if files.may_hold_setup(data):
        try:
            text = files.decode(data).text
        except files.SourceError:
            return
        if may_matter(text):
            return
        skipped_by = "relevance"
    else:
        skipped_by = "prefilter"
    try:
        module = libcst.parse_module(data)
    except (libcst.ParserSyntaxError, RecursionError):
        return
    setup = extract(module, "x.py")
    assert setup.setups == (), (skipped_by, data[:300])
    if skipped_by == "prefilter":
        assert setup.imports == (), data[:300]
    for target in (version, "0.11.4", "0.12.2", "1.13.0"):
        report = api.run_rules(setup, data.decode("utf-8", "replace"), Target.of(target), api.Settings())
        assert report == (), (skipped_by, target, report)


def trl_sources() -> list[Path]:
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py"))


def near_misses(limit: int = 40) -> list[Path]:
    """Real files that mention trl but, by the prefilter, cannot hold a setup: the hardest negatives."""
    found = [path for path in trl_sources()
             if b"trl" in (data := path.read_bytes()) and not files.may_hold_setup(data)]
    return sorted(found, key=lambda path: path.stat().st_size)[:limit]


def trl_files_only_python_rules_out() -> list[Path]:
    """TRL's own files that import trl or name a trainer, yet hold no trainer call: PPOTrainer's own
    definition among them. The byte prefilter passes them; setup.relevance must not lose anything."""
    return [path for path in trl_sources()
            if files.may_hold_setup(data := path.read_bytes()) and not may_matter(files.decode(data).text)]


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")) + near_misses() + trl_files_only_python_rules_out(),
                         ids=str)
def test_skipping_real_files_loses_nothing(path):
    assert_skipping_loses_nothing(path.read_bytes())


def test_the_prefilter_skips_almost_all_of_a_large_library():
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("transformers is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    # rglob, not discover(): in CI the library sits in a git-ignored .venv, and this is about the bytes.
    paths = sorted(root.rglob("*.py"))
    passed = [path for path in paths if files.may_hold_setup(path.read_bytes())]
    assert len(paths) > 500 and len(passed) <= len(paths) // 100, passed

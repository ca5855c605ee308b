"""Fix previews reuse the check's parse (setup/recent.py) and stay right when they cannot."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from ppodoctor import api
from ppodoctor.fixes.source import SourceMap
from ppodoctor.report import fixdiff, render
from ppodoctor.setup import recent
from ppodoctor.setup.extract import extract
from ppodoctor.setup.scopes import collect

SCRIPT = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("sft")
policy = AutoModelForCausalLM.from_pretrained("sft")
reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = PPOTrainer(
    args=PPOConfig(output_dir="out"),
    processing_class=tokenizer,
    model=policy,
    ref_model=None,
    reward_model=reward_model,
    train_dataset=dataset,
)
'''
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh():
    recent.forget()
    fixdiff._source_map.cache_clear()
    yield
    recent.forget()
    fixdiff._source_map.cache_clear()


def _report(text: str = SCRIPT) -> api.CheckReport:
    return api.CheckReport((api.check_source(text, "train.py"),))


def test_the_preview_reads_the_tree_the_check_parsed():
    _report()
    facts = recent.recall(SCRIPT)
    assert facts is not None
    assert SourceMap(SCRIPT, "\n").module is facts.module


def test_previews_are_the_same_with_and_without_the_kept_tree():
    report = _report()
    reused = render(report, "text")
    recent.forget()
    fixdiff._source_map.cache_clear()
    assert recent.recall(SCRIPT) is None
    parsed_again = render(report, "text")
    assert reused == parsed_again
    # The structural previews were really computed, not left out.
    assert "+value_model = AutoModelForSequenceClassification" in reused
    assert '+tokenizer.add_special_tokens({"pad_token": "[PAD]"})' in reused


def test_other_text_is_parsed_afresh():
    _report()
    edited = SCRIPT.replace('"sft"', '"sft-2"')
    assert recent.recall(edited) is None
    source_map = SourceMap(edited, "\n")
    assert source_map.module is not recent.recall(SCRIPT).module
    assert source_map.module.code == edited


def test_entries_are_matched_by_the_exact_text():
    module = cst.parse_module(SCRIPT)
    extract(module, "train.py")  # no text given: matched by regenerating the module's code
    assert recent.recall(SCRIPT).module is module
    assert recent.recall(SCRIPT.replace("\n", "\r\n")) is None
    assert recent.recall(SCRIPT + "\n") is None
    other = SCRIPT.replace("policy", "actor")
    given = cst.parse_module(other)
    extract(given, "other.py", text=other)
    assert recent.recall(other).module is given
    assert recent.recall(SCRIPT).module is module


def test_files_without_a_trainer_are_not_kept():
    text = "import os\n\nprint(os.getcwd())\n"
    extract(cst.parse_module(text), "utils.py", text=text)
    assert recent.recall(text) is None


def test_only_the_last_few_are_kept():
    texts = [f"x = {i}\n" for i in range(recent._RECENT.maxlen + 1)]
    for text in texts:
        recent.remember(collect(cst.parse_module(text)), text)
    assert recent.recall(texts[0]) is None
    assert recent.recall(texts[-1]) is not None
    assert recent.recall(texts[1]) is not None


@pytest.mark.parametrize("path", sorted((REPO / "ppodoctor").rglob("*.py"))[:40] + [REPO / "benchmarks" / "cold_start.py"],
                         ids=lambda path: path.name)
def test_parents_and_names_agree_with_libcst(path):
    text = path.read_text(encoding="utf-8")
    source_map = SourceMap(text, "\n")
    expected = MetadataWrapper(source_map.module, unsafe_skip_copy=True).resolve(ParentNodeProvider)
    ours = source_map.parents
    assert ours.keys() == expected.keys()
    assert all(ours[node] is expected[node] for node in expected)

    class Names(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: set[str] = set()

        def visit_Name(self, node: cst.Name) -> None:
            self.names.add(node.value)

    visitor = Names()
    source_map.module.visit(visitor)
    taken = sorted(visitor.names)[:1]  # a module may bind no name at all (a package's empty __init__.py)
    assert source_map.free_name(taken + ["surely_not_a_name_here"]) == "surely_not_a_name_here"
    assert source_map._names == frozenset(visitor.names)

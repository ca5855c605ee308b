"""Text edits: conflicts, byte-exact application, and the fixed-point rounds that resolve collisions."""

from __future__ import annotations

import pytest

from ppodoctor.config import Settings
from ppodoctor.fixes.edits import LineIndex, apply, conflicts, select
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import Edit


def test_overlaps_and_edge_insertions_conflict():
    assert conflicts(Edit(0, 5, "a"), Edit(4, 8, "b"))
    assert not conflicts(Edit(0, 4, "a"), Edit(4, 8, "b"))  # touching replacements are independent
    assert conflicts(Edit(4, 4, "x"), Edit(0, 4, "a"))  # an insertion at a replacement's edge is ambiguous
    assert not conflicts(Edit(4, 4, "x"), Edit(4, 4, "y"))  # two insertions at a point keep their order
    assert not conflicts(Edit(1, 2, "same"), Edit(1, 2, "same"))


def test_apply_is_byte_exact_dedupes_and_keeps_insertion_order():
    text = "a = 1\r\nb = 2\r\n"
    edits = [Edit(7, 7, "x\r\n"), Edit(7, 7, "y\r\n"), Edit(4, 5, "9"), Edit(4, 5, "9")]
    assert apply(text, edits) == "a = 9\r\nx\r\ny\r\nb = 2\r\n"
    with pytest.raises(ValueError):
        apply(text, [Edit(0, 3, ""), Edit(2, 4, "")])


def test_select_defers_what_collides():
    groups = [(Edit(0, 5, "a"),), (Edit(3, 6, "b"),), (Edit(6, 6, "c"), Edit(9, 9, "d"))]
    assert select(groups) == [0, 2]


def test_line_index_counts_crlf_and_lone_cr_as_one_line_end():
    index = LineIndex("ab\r\ncd\ref\n")
    assert [index.offset(n, 1) for n in (1, 2, 3)] == [0, 4, 7]
    assert index.line_start(5) == 4 and index.line_end(5) == 7


def test_fixes_of_neighbouring_nodes_land_over_rounds():
    # PPD207 renames the policy's torch_dtype=; the value-model fix copies it into a new statement in
    # the same round, and the next round renames the copy too.
    source = ("import torch\n"
              "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification\n"
              "from trl.experimental.ppo import PPOTrainer\n"
              "policy = AutoModelForCausalLM.from_pretrained('sft', torch_dtype=torch.bfloat16)\n"
              "rm = AutoModelForSequenceClassification.from_pretrained('rm', num_labels=1)\n"
              "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
              "                     train_dataset=ds)\n")
    result = fix_source(source, "t.py", Settings(), Target.of("1.12.0", transformers="5.24.0"))
    assert result.rounds == 2
    assert "torch_dtype" not in result.text
    assert "value_model = AutoModelForSequenceClassification.from_pretrained(\n" \
           "    'rm', num_labels=1, dtype=torch.bfloat16\n)\n" in result.text
    assert not result.remaining


def test_fixing_prints_none_of_the_scripts_own_compile_warnings():
    import warnings

    source = ('import re\nfrom trl import PPOConfig, PPOTrainer\npattern = re.compile("\\d+")\n"not callable"()\n'
              "trainer = PPOTrainer(args=PPOConfig(), processing_class=tok, model=policy, ref_model=ref,\n"
              "                     reward_model=rm, train_dataset=ds)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fix_source(source, "t.py", Settings(), Target.of("1.12.0", transformers="5.24.0"))
    assert result.text != source  # the fixes ran, with the compile checks between rounds
    assert [str(warning.message) for warning in caught] == []

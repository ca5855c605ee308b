"""The language server's position arithmetic and edit diffing (no LSP library needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ppodoctor.server.changes import apply, changes
from ppodoctor.server.positions import UTF8, UTF16, UTF32, Lines, span_offsets, units


def utf16_position(text: str, offset: int) -> tuple[int, int]:
    """An independent account: split at LSP's line breaks, count UTF-16 code units."""
    before = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n")
    return line, len(before.rsplit("\n", 1)[-1].encode("utf-16-le")) // 2


def test_utf16_counts_astral_characters_twice():
    text = 'x = "\U0001F917é"; y\n'
    lines = Lines(text, UTF16)
    assert lines.position(text.index("y")) == (0, 11)  # 10 code points before it, one astral
    assert Lines(text, UTF32).position(text.index("y")) == (0, 10)
    assert Lines(text, UTF8).position(text.index("y")) == (0, 14)
    assert lines.offset(0, 11) == text.index("y")
    assert Lines(text, UTF8).offset(0, 14) == text.index("y")
    assert units("\U0001F917", UTF16) == 2 and units("é", UTF8) == 2


def test_lines_break_at_lsp_line_endings_only():
    text = "a\x0cb\u2028c\r\nd\re\nf"  # form feed and U+2028 are not line breaks in LSP
    lines = Lines(text)
    assert lines.position(text.index("d")) == (1, 0)
    assert lines.position(text.index("e")) == (2, 0)
    assert lines.position(text.index("c")) == (0, 4)
    assert lines.end == (3, 1)


def test_positions_past_a_line_end_or_the_text_end_are_clamped():
    text = "ab\r\ncd\n"
    lines = Lines(text)
    assert lines.offset(0, 99) == 2  # before "\r\n", never between "\r" and "\n"
    assert lines.offset(9, 0) == len(text)


def test_span_offsets_are_code_points_and_end_exclusive():
    text = 'tag = "\U0001F917"; trainer = PPOTrainer(\n'
    start, end = span_offsets(text, 1, text.index("PPOTrainer") + 1, 1, text.index("(") + 1)
    assert text[start:end] == "PPOTrainer"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\r\n\U0001F917é ", max_size=40), st.text(alphabet="ab\r\n\U0001F917é ", max_size=40))
def test_changes_turn_the_old_text_into_the_new(old, new):
    found = changes(old, new)
    assert apply(old, found) == new
    for first, second in zip(found, found[1:]):
        assert first.end <= second.start
    for change in found:  # an edit never starts or ends between "\r" and "\n"
        for offset in (change.start, change.end):
            assert not (0 < offset < len(old) and old[offset - 1] == "\r" and old[offset] == "\n")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="a\r\n\U0001F917é", max_size=30), st.data())
def test_offsets_and_positions_agree_with_an_independent_count(text, data):
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1  # inside a line break: no position names it
    lines = Lines(text)
    assert lines.position(offset) == utf16_position(text, offset)
    assert lines.offset(*lines.position(offset)) == offset


def test_a_fix_that_inserts_lines_is_a_few_small_insertions():
    old = "a = 1\nt = T(\n    x=1,\n)\n"
    new = "a = 1\nv = 2\nt = T(\n    x=1,\n    v=v,\n)\n"
    found = changes(old, new)
    assert [(c.start, c.end, c.text) for c in found] == [(6, 6, "v = 2\n"), (22, 22, "    v=v,\n")]

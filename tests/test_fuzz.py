"""Property tests: `check` never crashes on any input, the prefilter never hides a finding, and `fix`
output parses, is a fixed point, and touches only what the findings it applied point at.

Inputs: programs from hypothesmith's grammar, and mutations (deleted, duplicated and swapped lines,
renamed identifiers, dropped arguments) of the fixture scripts and the rules' examples. CI runs a
bounded number of examples; scripts/fuzz.py runs many more (PPODOCTOR_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import ast
import difflib
import os
import re
from functools import lru_cache
from pathlib import Path

import libcst
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ppodoctor import api
from ppodoctor.rules import all_rules
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES
from test_files_prefilter import assert_skipping_loses_nothing

EXAMPLES = int(os.environ.get("PPODOCTOR_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
TARGETS = st.sampled_from(["0.11.4", "0.12.2", "0.14.0", "0.26.0", "1.12.0", "1.13.0"])
NAMES = ["model", "policy", "ref_model", "ref_policy", "value_model", "reward_model", "tokenizer", "config",
         "args", "PPOTrainer", "PPOConfig", "trl", "x", "AutoModelForCausalLM",
         "AutoModelForSequenceClassification"]


@lru_cache(maxsize=1)
def seeds() -> tuple[str, ...]:
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(FIXTURES.rglob("*.py"))
             if path.stat().st_size < 20_000]
    texts += [example.code for rule in all_rules() for which in ("invalid", "valid")
              for example in rule.examples(which)]
    return tuple(texts)


@st.composite
def mutated(draw) -> str:
    lines = draw(st.sampled_from(seeds())).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "rename", "drop-argument"]))
        at = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            text = "".join(lines)
            if kind == "rename":
                words = sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", text)))
                if words:
                    old, new = draw(st.sampled_from(words)), draw(st.sampled_from(NAMES))
                    text = re.sub(rf"\b{re.escape(old)}\b", new, text)
            else:
                arguments = list(re.finditer(r"\b\w+\s*=\s*[^,()\n]*,?[ \t]*", text))
                if arguments:
                    argument = draw(st.sampled_from(arguments))
                    text = text[:argument.start()] + text[argument.end():]
            lines = text.splitlines(keepends=True)
    return "".join(lines)


@lru_cache(maxsize=1)
def python_grammar():
    import hypothesmith

    return hypothesmith.from_grammar()  # builds a Lark parser: ~2 s, so once per session


@st.composite
def generated(draw) -> str:
    body = draw(python_grammar())
    head = draw(st.sampled_from(["", "from trl import PPOTrainer\n", "import trl\n"]))
    tail = draw(st.sampled_from(["", "\ntrainer = PPOTrainer(model=model, ref_model=model)\n"]))
    return head + body + tail


def assert_checks_cleanly(source: str, version: str) -> api.FileReport:
    report = api.check_source(source, "fuzz.py", target=Target.of(version))
    if report.error is not None:
        assert report.error and "\n" not in report.error and report.diagnostics == ()
    for diagnostic in report.diagnostics:
        lines = source.splitlines() or [""]
        assert 1 <= diagnostic.span.line <= diagnostic.span.end_line <= max(len(lines), 1) + 1, diagnostic
    return report


@FUZZ
@given(source=mutated(), version=TARGETS)
def test_check_never_crashes_on_mutated_scripts(source, version):
    assert_checks_cleanly(source, version)
    assert_skipping_loses_nothing(source.encode("utf-8"), version)


@FUZZ
@given(source=generated(), version=TARGETS)
def test_check_never_crashes_on_generated_programs(source, version):
    assert_checks_cleanly(source, version)
    assert_skipping_loses_nothing(source.encode("utf-8"), version)


@FUZZ
@given(data=st.binary(max_size=400), version=TARGETS)
def test_check_never_crashes_on_arbitrary_bytes(data, version):
    report = api.check_source(b"import trl\n" + data, "fuzz.py", target=Target.of(version))
    assert report.error is None or "\n" not in report.error


# --- fix properties (the fix engine) -------------------------------------------------------------------
def changed_original_lines(before: str, after: str) -> set[int]:
    """1-based lines of `before` that the fix replaced or deleted (pure insertions change none)."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return {line + 1 for tag, start, end, _, _ in matcher.get_opcodes() if tag in ("replace", "delete")
            for line in range(start, end)}


def import_lines(source: str) -> set[int]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {line for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)}


def assignment_lines(source: str, names: set[str]) -> set[int]:
    """Lines that bind one of the variables the trainer call passes (`ref = policy` is where a
    shared reference gets its own copy)."""
    wanted = [name for name in names if name.isidentifier()]
    if not wanted:
        return set()
    binding = re.compile(rf"^\s*(?:{'|'.join(map(re.escape, wanted))})\s*(?::[^=]*)?=(?!=)")
    return {number for number, line in enumerate(source.splitlines(), 1) if binding.match(line)}


def origin_spans(origin):
    """Where a role's object is made (and what it wraps): structural fixes edit it there."""
    while origin is not None:
        if origin.span is not None:
            yield origin.span
        origin = origin.base


def allowed_lines(fixed) -> set[int]:
    """The lines the applied findings point at: their spans, the ranges of replacement fixes, and
    for structural fixes the trainer call they belong to, where its roles' objects are made or bound,
    and the import statements (a fix that adds a value model also imports its class)."""
    lines: set[int] = set()
    setups = fixed.before.setups if fixed.before is not None else ()
    for diagnostic in fixed.applied:
        lines.update(range(diagnostic.span.line, diagnostic.span.end_line + 1))
        replacements = diagnostic.fix.param("replacements") if diagnostic.fix is not None else None
        if diagnostic.fix is not None and replacements is None:
            lines |= import_lines(fixed.original.text)
            if diagnostic.setup_index is not None and diagnostic.setup_index < len(setups):
                setup = setups[diagnostic.setup_index]
                spans = [setup.span] + [span for role in setup.roles for span in origin_spans(role.origin)]
                for span in spans:
                    lines.update(range(span.line, span.end_line + 1))
                lines |= assignment_lines(fixed.original.text, {role.text for role in setup.roles})
        for item in replacements or ():
            span = item[0]
            lines.update(range(span.line, span.end_line + 1))
    return lines


@FUZZ
@given(source=mutated(), version=TARGETS, unsafe=st.booleans())
def test_fix_output_parses_is_a_fixed_point_and_stays_in_the_reported_spans(source, version, unsafe):
    fixes = pytest.importorskip("ppodoctor.pipeline.fix")
    target = Target.of(version)
    fixed = fixes.fix_source(source, "fuzz.py", target=target, unsafe=unsafe)
    event("fixed" if fixed.changed else "error" if fixed.error else "unchanged")
    if fixed.error is not None or not fixed.changed:
        return
    libcst.parse_module(fixed.text)
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    else:
        ast.parse(fixed.text)  # what Python accepted before, it accepts after
    # Round two reads what round one would have written: the bytes, in the file's own encoding.
    again = fixes.fix_source(fixed.new_bytes, "fuzz.py", target=target, unsafe=unsafe)
    assert again.error is None and again.text == fixed.text, "fix is not idempotent"
    outside = changed_original_lines(fixed.original.text, fixed.text) - allowed_lines(fixed)
    assert not outside, (sorted(outside), [d.code for d in fixed.applied])


def test_the_seed_corpus_is_not_empty():
    assert len(seeds()) > 20 and any("PPOTrainer" in text for text in seeds())

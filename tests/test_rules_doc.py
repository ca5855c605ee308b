"""docs/rules.md is generated from the rule metadata and must be current."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from ppodoctor.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_rules_doc", ROOT / "scripts" / "generate_rules_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rules_doc_is_current():
    expected = _generator().render(all_rules())
    assert DOC.exists() and DOC.read_text(encoding="utf-8") == expected, \
        "docs/rules.md is out of date: run python scripts/generate_rules_doc.py"


def test_every_rule_has_a_section_and_examples():
    text = _generator().render(all_rules())
    for rule in all_rules():
        section = text.split(f"## {rule.code} {rule.name}\n", 1)
        assert len(section) == 2, rule.code
        body = section[1].split("\n## ", 1)[0]
        assert f"Severity: **{rule.severity}**" in body
        assert ("Fixable: **yes**" in body) == rule.fixable
        assert rule.documentation().splitlines()[0] in body
        # Runtime (probe) rules may have no static examples; every example a rule has is shown.
        for example in rule.examples("invalid") + rule.examples("valid"):
            assert example.code.rstrip() in body, rule.code
        assert ("Fires on (trl" in body) == bool(rule.examples("invalid")), rule.code


def test_table_links_match_the_docs_url_anchor():
    """The {anchor} a `docs-url` template gets is the heading's anchor on the generated page."""
    from ppodoctor.report.links import rule_url

    text = _generator().render(all_rules())
    anchors = re.findall(r"\]\(#([a-z0-9-]+)\)", text)
    headings = {f"{r.code.lower()}-{r.name}" for r in all_rules()}
    assert set(anchors) == headings
    template = "https://example.org/docs/rules.md#{anchor}"
    assert {rule_url(template, r.code, r.name) for r in all_rules()} == {template.format(anchor=a) for a in anchors}
    assert rule_url(None, "PPD101", "value-model-missing") is None


def test_check_mode_detects_a_stale_file(tmp_path):
    generator = _generator()
    assert generator.render(all_rules()) != generator.render(all_rules()[:-1])
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_rules_doc.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == (0 if DOC.read_text(encoding="utf-8") == generator.render(all_rules()) else 1)

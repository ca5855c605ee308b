"""migrate's ports (fixtures/migrate/expected: every style, to RLOO and to GRPO) are clean under the PPD6xx
rules because the rules looked: each port broken one way (indivisible num_generations, a reward function
without **kwargs, no `prompt` column) is caught, by that rule alone."""

from __future__ import annotations

import pytest

from migrate_helpers import EXPECTED, PORT_BREAKS
from ppodoctor.api import check_source
from ppodoctor.trl_api.eras import Target

PORTS = sorted(EXPECTED.glob("*.py"))
CASES = [(port, code) for port in PORTS for code in PORT_BREAKS]


def codes(text: str) -> list[str]:
    report = check_source(text, "train.py", target=Target.of("1.16.0"))
    assert report.error is None, report.error
    return [d.code for d in report.diagnostics]


@pytest.mark.parametrize("port", PORTS, ids=lambda p: p.name)
def test_a_port_is_clean(port):
    assert codes(port.read_text()) == []


@pytest.mark.parametrize("port, code", CASES, ids=[f"{p.stem}-{c}" for p, c in CASES])
def test_a_broken_port_is_caught(port, code):
    assert codes(PORT_BREAKS[code](port.read_text())) == [code]


@pytest.mark.parametrize("code", sorted(PORT_BREAKS))
def test_migrates_own_gate_refuses_a_broken_port(code, tmp_path):
    """migrate writes a port only when `check` on the ported text finds no error (remaining_errors): the
    PPD6xx rules are part of that gate, so a port that would break this way is not written."""
    import dataclasses

    from migrate_helpers import SCRIPTS
    from ppodoctor.pipeline.migrate import _write, default_version, migrate_source, remaining_errors

    migration = migrate_source((SCRIPTS / "guide_fixed.py").read_text(), str(tmp_path / "train.py"), "grpo")
    assert remaining_errors(migration, default_version()) == ()
    broken = dataclasses.replace(migration, text=PORT_BREAKS[code](migration.text))
    remaining = remaining_errors(broken, default_version())
    assert [d.code for d in remaining] == [code]
    refused = _write(dataclasses.replace(broken, remaining=remaining), probed=False)
    assert code in refused.not_written and not (tmp_path / "train.py").exists()

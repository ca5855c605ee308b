"""TRL versions are PEP 440 versions (packaging's), pins are PEP 440 specifiers (packaging's).

What changed from the hand-written parser: `1x` is refused instead of read as 1.0.0, and
pre-releases keep their pre-release part (0.13.0.dev0 < 0.13.0) while being judged by their release
for the era and the table entry (TRL changes its API on main before the release is cut).
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ppodoctor import api
from ppodoctor.cli import main
from ppodoctor.config import Settings
from ppodoctor.trl_api import eras, table
from ppodoctor.trl_api import target as target_module
from ppodoctor.trl_api.eras import InvalidVersion, Target, Version, era_of
from ppodoctor.trl_api.target import resolve_target, version_for

from conftest import FIXTURES


@pytest.mark.parametrize("text", ["1x", "", "abc", "0.12.x", "1.2.3-foo", "==1.2"])
def test_text_that_is_not_a_version_is_refused(text):
    with pytest.raises(InvalidVersion, match="is not a version"):
        Version.parse(text)
    with pytest.raises(ValueError):  # InvalidVersion is a ValueError, as callers expect
        Target.of(text)


def test_pep440_order_with_pre_and_post_releases():
    ordered = ["0.12.2", "0.13.0.dev0", "0.13.0a1", "0.13.0rc1", "0.13.0", "0.13.0.post1", "0.13.1", "1.0.0"]
    parsed = [Version.parse(text) for text in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert Version.parse("0.12") == Version.parse("0.12.0") and hash(Version.parse("0.12")) == hash(Version("0.12.0"))


@pytest.mark.parametrize("text, shown", [
    ("0.12", "0.12.0"), ("1", "1.0.0"), ("v1.2", "1.2.0"), ("0.13.0.dev0", "0.13.0.dev0"), ("0.13.0RC1", "0.13.0rc1"),
    ("1.0.0+cpu", "1.0.0+cpu"), ("0.12.2.post1", "0.12.2.post1"), ("1.2.3.4", "1.2.3.4"), (" 0.14.0 ", "0.14.0"),
])
def test_str_pads_the_release_to_three_parts(text, shown):
    version = Version.parse(text)
    assert str(version) == shown and Version.parse(str(version)) == version


def test_major_minor_micro_and_base():
    version = Version.parse("0.13.0rc1")
    assert (version.major, version.minor, version.micro) == (0, 13, 0)
    assert version.base == Version.parse("0.13.0") and str(version.base) == "0.13.0"
    assert Version.parse("1.2").micro == 0


@pytest.mark.parametrize("text, era", [
    ("0.11.4", eras.OLD), ("0.12.0.dev0", eras.V012), ("0.12.2", eras.V012), ("0.13.0.dev0", eras.V013),
    ("0.13.0rc1", eras.V013), ("0.14.0", eras.V013), ("0.18.0rc1", eras.V018), ("0.12.2.post1", eras.V012),
    ("1.12.0", eras.V029), ("1.13.0.dev0", eras.REMOVED), ("1.13.0", eras.REMOVED), ("1!0.1.0", eras.REMOVED),
])
def test_eras_are_judged_by_the_release(text, era):
    assert era_of(Version.parse(text)) == era


def test_a_pre_release_reads_the_table_entry_of_its_release():
    assert table.facts(Version.parse("0.13.0.dev0")) is table.facts(Version.parse("0.13.0"))
    assert table.facts(Version.parse("0.18.0rc2")) is table.facts(Version.parse("0.18.0"))
    assert not table.has_ppo(Version.parse("1.13.0.dev0"))


def test_rules_see_a_pre_release_as_its_release():
    script = (FIXTURES / "eras" / "v012_script.py").read_text()

    def codes(version):
        return sorted(d.code for d in api.check_source(script, "s.py", target=Target.of(version)).diagnostics)

    assert codes("0.13.0.dev0") == codes("0.13.0rc1") == codes("0.13.0") != codes("0.12.2")


def test_versions_cross_process_boundaries():
    version = Version.parse("0.13.0rc1")
    copy = pickle.loads(pickle.dumps(version))
    assert type(copy) is Version and copy == version and str(copy) == "0.13.0rc1"
    target = Target.of("0.12.2", transformers="4.46.3")
    assert pickle.loads(pickle.dumps(target)) == target


@pytest.mark.parametrize("spec, expected", [
    (">=0.12,<0.13,!=0.12.2", "0.12.1"), ("==0.13.0rc1", "0.13.0rc1"), (">=0.13.0rc1,<0.14", "0.13.0"),
    (">=2.0", "2.0.0"), ("===0.12.2", "0.12.2"), ("~=0.12.0", "0.12.2"), ("<=0.12.0", "0.12.0"),
    ("==1.12", "1.12.0"), ("!=1.12.0", "newest"),
])
def test_specifiers_follow_pep440(spec, expected):
    from ppodoctor.trl_api import table

    # An open-ended pin meets the newest release the era table has measured.
    expected = str(table.known_versions()[-1]) if expected == "newest" else expected
    assert str(version_for(spec)) == expected


@pytest.mark.parametrize("spec", ["garbage", "", ">=", "=0.12", "==0.12.*.1"])
def test_text_that_is_not_a_specifier_gives_no_version(spec):
    assert version_for(spec) is None


@pytest.mark.parametrize("line, spec, shown", [
    ("trl[peft] >= 0.12, <0.13 ; python_version > '3' # pinned", "<0.13,>=0.12", "`trl[peft] >= 0.12, <0.13`"),
    ("TRL==0.14.0 --hash=sha256:abc", "==0.14.0", "`TRL==0.14.0`"),
    ("trl_==0.14.0", None, None),  # not a valid name
    ("trlx>=0.5", None, None), ("trl", None, None), ("trl @ git+https://example.org/trl.git", None, None),
    ("-r other.txt", None, None), ("torch==2.13.0", None, None),
])
def test_requirement_lines_are_read_by_packaging(line, spec, shown):
    pin = target_module._pin(line, "requirements.txt")
    assert pin == (None if spec is None else (spec, f"{shown} in requirements.txt"))


def test_an_installed_version_that_is_not_pep440_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(target_module, "installed_versions", lambda python: {"trl": "1.x-custom",
                                                                              "transformers": "nonsense"})
    target = resolve_target(Settings(), tmp_path / "train.py")
    assert target.source == "default" and target.transformers == Version.parse("5.0.0")


def test_cli_refuses_a_version_that_is_not_one(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("from trl import PPOTrainer\n")
    result = CliRunner().invoke(main, ["check", "--trl-version", "1x", str(script)])
    assert result.exit_code == 2
    assert "Invalid value for --trl-version: '1x' is not a version" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\ntrl-version = "1x"\n')
    for command in (["check"], ["fix"], ["probe"]):
        result = CliRunner().invoke(main, [*command, str(script)])
        assert result.exit_code == 2 and "trl-version in pyproject.toml: '1x' is not a version" in result.stderr


def test_cli_shows_a_pre_release_target(tmp_path):
    script = tmp_path / "t.py"
    script.write_text("from trl.experimental.ppo import PPOTrainer\n")
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--trl-version", "1.13.0.dev0", str(script)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "PPD203" in done.stdout, done.stdout + done.stderr
    assert "Checked against trl 1.13.0.dev0 (from --trl-version)" in done.stdout

"""installed.version reads metadata directories itself; it must agree with importlib.metadata."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ppodoctor.trl_api import installed


def _reference(name: str, path: list[str]):
    found = list(importlib.metadata.distributions(name=name, path=path))
    return found[0].version if found else None


@pytest.mark.parametrize("name", ["trl", "transformers", "libcst", "click", "Click", "typing_extensions",
                                  "Typing.Extensions", "no-such-distribution-xyz"])
def test_agrees_with_importlib_metadata_on_this_interpreter(name):
    assert installed.version(name) == _reference(name, sys.path)


def test_real_packages_are_found():
    assert installed.version("libcst") == importlib.metadata.version("libcst")
    assert installed.version("trl") == importlib.metadata.version("trl")
    assert installed.version("no-such-distribution-xyz") is None


def _dist_info(root: Path, directory: str, version: str | None, metadata: str = "METADATA") -> Path:
    info = root / directory
    info.mkdir(parents=True)
    header = f"Version: {version}\n" if version is not None else ""
    (info / metadata).write_text(f"Metadata-Version: 2.1\nName: x\n{header}Summary: s\n\nVersion: 9.9.9\n")
    return info


@pytest.mark.parametrize("asked", ["my-package", "My_Package", "my.package", "MY--package", "my_._package"])
def test_names_are_compared_normalized(tmp_path, asked):
    _dist_info(tmp_path, "My.Package-1.2.3.dist-info", "1.2.3")
    assert installed.version(asked, [str(tmp_path)]) == "1.2.3"
    assert _reference(asked, [str(tmp_path)]) == "1.2.3"


def test_a_different_name_is_not_taken(tmp_path):
    _dist_info(tmp_path, "trl_extras-1.0.dist-info", "1.0")
    _dist_info(tmp_path, "trlx-2.0.dist-info", "2.0")
    assert installed.version("trl", [str(tmp_path)]) is None
    assert _reference("trl", [str(tmp_path)]) is None


def test_the_first_path_entry_wins(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _dist_info(first, "trl-0.12.2.dist-info", "0.12.2")
    _dist_info(second, "trl-1.12.0.dist-info", "1.12.0")
    for order in ([first, second], [second, first], [tmp_path / "missing", second, first]):
        path = [str(entry) for entry in order]
        assert installed.version("trl", path) == _reference("trl", path)
    assert installed.version("trl", [str(first), str(second)]) == "0.12.2"
    assert installed.version("trl", [str(second), str(first)]) == "1.12.0"


def test_the_header_is_read_not_the_body_or_the_directory_name(tmp_path):
    # The directory name says 1.0 and the body says 9.9.9: the header is what counts.
    _dist_info(tmp_path, "pkg-1.0.dist-info", "2.0.post1")
    assert installed.version("pkg", [str(tmp_path)]) == "2.0.post1" == _reference("pkg", [str(tmp_path)])


def test_egg_info_directory_and_file(tmp_path):
    directory, single = tmp_path / "d", tmp_path / "f"
    _dist_info(directory, "legacy_pkg-0.5-py3.11.egg-info", "0.5", metadata="PKG-INFO")
    single.mkdir()
    (single / "old_pkg-0.7-py3.11.egg-info").write_text("Metadata-Version: 1.0\nName: old-pkg\nVersion: 0.7\n")
    assert installed.version("legacy-pkg", [str(directory)]) == "0.5" == _reference("legacy-pkg", [str(directory)])
    assert installed.version("old_pkg", [str(single)]) == "0.7" == _reference("old_pkg", [str(single)])


def test_metadata_without_a_version_falls_back_to_the_directory_name(tmp_path):
    _dist_info(tmp_path, "bare-3.1.dist-info", None)
    assert installed.version("bare", [str(tmp_path)]) == "3.1"


def test_a_zip_on_the_path_is_read_through_importlib_metadata(tmp_path):
    archive = tmp_path / "packages.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped_pkg-4.2.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped-pkg\nVersion: 4.2\n")
    later = tmp_path / "later"
    _dist_info(later, "zipped_pkg-1.0.dist-info", "1.0")
    path = [str(archive), str(later)]
    assert installed.version("zipped-pkg", path) == "4.2" == _reference("zipped-pkg", path)


def test_own_interpreter_lookup_does_not_import_importlib_metadata():
    code = ("import sys\nfrom ppodoctor.trl_api.target import installed_versions\n"
            "found = installed_versions(sys.executable)\n"
            "assert found['trl'], found\n"
            "from ppodoctor.trl_api.installed import version\n"
            "assert version('no-such-distribution-xyz') is None\n"
            "print(sorted(name for name in sys.modules if name.startswith(('importlib.metadata', 'email', 'zipfile'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_several_names_in_one_pass_agree_with_importlib_metadata(tmp_path):
    names = ("trl", "transformers", "libcst", "no-such-distribution-xyz")
    assert installed.versions(names) == {name: _reference(name, sys.path) for name in names}
    first, second = tmp_path / "a", tmp_path / "b"
    _dist_info(first, "alpha-1.0.dist-info", "1.0")
    _dist_info(second, "alpha-2.0.dist-info", "2.0")
    _dist_info(second, "beta-3.0.dist-info", "3.0")
    path = [str(first), str(second)]
    assert installed.versions(("alpha", "beta", "gamma"), path) == {"alpha": "1.0", "beta": "3.0", "gamma": None}

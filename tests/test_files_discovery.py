"""Directory walks: .gitignore (root, nested, above the root, negations), exclude, skipped directories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ppodoctor import files
from ppodoctor.config import Settings

TREE = {
    ".gitignore": "build_out/\n*.gen.py\n/top_only.py\nlogs\n",
    "a.py": "", "top_only.py": "", "notes.txt": "", "stub.pyi": "",
    "build_out/b.py": "",
    "logs/c.py": "",
    "src/.gitignore": "generated/\n!keep.gen.py\n# a comment\n\n",
    "src/c.py": "", "src/top_only.py": "", "src/d.gen.py": "", "src/keep.gen.py": "",
    "src/generated/e.py": "",
    "src/deep/.gitignore": "*.py\n!wanted.py\n",
    "src/deep/dropped.py": "", "src/deep/wanted.py": "", "src/deep/keep.gen.py": "",
    "src/logs.py": "",
    "x.py/inside.py": "",
    ".venv/lib/site.py": "", "__pycache__/cached.py": "", "pkg.egg-info/meta.py": "",
}


def make_tree(root: Path) -> Path:
    for name, text in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def walked(*paths: Path, base: Path, **options) -> list[str]:
    found = list(files.discover(list(paths), **options))
    assert all(problem is None for _, problem in found), found
    return sorted(path.relative_to(base).as_posix() for path, _ in found)


# src/deep/keep.gen.py: src/.gitignore re-includes it, but the deeper src/deep/.gitignore decides.
EXPECTED = ["a.py", "src/c.py", "src/deep/wanted.py", "src/keep.gen.py", "src/logs.py",
            "src/top_only.py", "stub.pyi", "x.py/inside.py"]


def test_gitignore_files_at_every_level_decide_as_git_does(tmp_path):
    root = make_tree(tmp_path)
    assert walked(root, base=root) == EXPECTED


def test_agrees_with_git_itself(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = make_tree(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=root, check=True,
                            capture_output=True, text=True).stdout.split()
    by_git = sorted(name for name in listed if name.endswith((".py", ".pyi"))
                    and not name.startswith((".venv/", "__pycache__/", "pkg.egg-info/")))
    assert walked(root, base=root) == by_git == EXPECTED


def test_ignore_files_above_the_walk_root_count_up_to_the_repository_top(tmp_path):
    root = make_tree(tmp_path / "repo")
    (root / ".git" / "info").mkdir(parents=True)
    (root / ".git" / "info" / "exclude").write_text("src/c.py\n")
    # /top_only.py is anchored to the top: src/top_only.py stays; `logs` matches at any depth.
    assert walked(root / "src", base=root) == [
        "src/deep/wanted.py", "src/keep.gen.py", "src/logs.py", "src/top_only.py"]
    # Without a repository around them, only the ignore files inside the walk apply.
    shutil.rmtree(root / ".git")
    assert "src/c.py" in walked(root / "src", base=root)
    assert "src/d.gen.py" in walked(root / "src", base=root)


def test_paths_named_explicitly_are_checked_whatever_ignores_say(tmp_path):
    root = make_tree(tmp_path)
    assert walked(root / "build_out" / "b.py", root / "src" / "generated", root / "notes.txt", base=root) == [
        "build_out/b.py", "notes.txt", "src/generated/e.py"]


def test_gitignore_can_be_switched_off(tmp_path):
    root = make_tree(tmp_path)
    everything = walked(root, base=root, respect_gitignore=False)
    assert "build_out/b.py" in everything and "src/generated/e.py" in everything
    assert ".venv/lib/site.py" not in everything and "pkg.egg-info/meta.py" not in everything


def test_exclude_setting_applies_to_the_walk(tmp_path):
    root = make_tree(tmp_path)
    settings = Settings(exclude=("src/deep", "x.py"), config_path=root / "pyproject.toml")
    assert walked(root, base=root, excluded=settings.is_excluded) == [
        "a.py", "src/c.py", "src/keep.gen.py", "src/logs.py", "src/top_only.py", "stub.pyi"]


def test_duplicates_are_checked_once(tmp_path):
    root = make_tree(tmp_path)
    assert walked(root / "a.py", root, Path(os.path.relpath(root / "a.py")), base=root) == EXPECTED


def test_deep_trees_do_not_exhaust_the_recursion_limit(tmp_path):
    deep = tmp_path
    for _ in range(1100):  # deeper than sys.getrecursionlimit()
        deep = deep / "d"
        deep.mkdir()
    (deep / "leaf.py").write_text("")
    try:
        assert len(walked(tmp_path, base=tmp_path)) == 1
    finally:
        # pytest removes tmp dirs recursively and would hit the recursion limit on this tree.
        (deep / "leaf.py").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def test_an_unlistable_directory_is_one_error_and_the_walk_goes_on(tmp_path):
    make_tree(tmp_path)
    # A file where the walk expects to list a directory is the portable stand-in for EACCES here.
    found = list(files._walk(tmp_path / "a.py", None, set(), None, False))
    assert len(found) == 1 and found[0][1].startswith("cannot list directory: ")

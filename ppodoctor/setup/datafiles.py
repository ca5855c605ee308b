"""The JSON and YAML files of a project that a script reads its settings from (`json.load(open(
"configs/ppo.json"))`, `yaml.safe_load(f)` with `f` an opened `config.yaml`).

A careful reader opens the file the script names and reads the values there; so does this module,
for a file beside the script (a relative path without `..`, or an absolute one in the project, as
`Path(__file__).parent / "ppo.json"` makes it; at most 1 MiB) that the script does not write itself
(roundtrip.py reads those from what it writes). The data becomes an expression of
literals whose nodes stand where their scalars are written in the file (textdata.data_expression), so
a finding about a value points at the file and line that write it; no fix edits such a file (the fix
engine edits Python modules only) and says where to change it instead.
"""

from __future__ import annotations

import os
from typing import Optional, Union

import libcst as cst

from .positions import Positions
from .textdata import Unreadable, data_expression

FILE_LIMIT = 1 << 20  # a config file, not a dataset


class DataFile:
    """One data file's text and data, answering positions and text for its nodes as ModuleFacts does
    for a module's (project.ProjectFacts asks it for the nodes it recorded)."""

    def __init__(self, text: str, shown: str, form: str) -> None:
        self.shown = shown
        self.positions = Positions.of_text(text)
        self.expression = data_expression(text, form, self.positions, 0)

    def range(self, node: cst.CSTNode):
        return self.positions[node]

    def position(self, node: cst.CSTNode):
        return self.positions.start(node)

    def code(self, node: cst.CSTNode) -> str:
        start, end = self.positions.offsets_of(node)
        return self.positions.code[start:end]

    def text(self, node: cst.CSTNode) -> str:
        return self.code(node).strip()


class ProjectFileUnread(Exception):
    """Why a file of the project a script reads is not read here; `missing`: it is not there at all."""

    def __init__(self, why: str, missing: bool = False) -> None:
        super().__init__(why)
        self.missing = missing


def project_file_text(script: str, path: str, root: Optional[str] = None) -> tuple[str, str]:
    """(its full path, its text) of the config file `path` names: a relative path beside the script at
    `script` (its absolute path), without `..`; an absolute one only given `root`, and inside it. Raises
    ProjectFileUnread (INI files, inidata.py, and JSON/YAML ones, here, are read the same way)."""
    folder = os.path.dirname(script)
    full = os.path.normpath(os.path.join(folder, path))
    if os.path.isabs(path) and root is None or not os.path.isabs(path) and ".." in path.replace("\\", "/").split("/") \
            or not full.startswith(os.path.join(root if os.path.isabs(path) else folder, "")):
        raise ProjectFileUnread(f"`{path}` is not a file of the project beside the script")
    if not os.path.isfile(full):
        raise ProjectFileUnread(f"`{path}` is not beside the script", missing=True)
    try:
        if os.path.getsize(full) > FILE_LIMIT:
            raise ProjectFileUnread(f"`{path}` is too large for a config file")
        with open(full, encoding="utf-8") as handle:
            return full, handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectFileUnread(f"`{path}` cannot be read: {error}") from None


def read_data_file(script: str, shown_script: str, root: str, path: str, form: str) -> Union[DataFile, str]:
    """The data file `path` names (project_file_text; an absolute path inside the project under `root`,
    as `Path(__file__).parent / ...` makes it), with the path reports name it by (as `shown_script`
    names the script), or why it is not read."""
    try:
        full, text = project_file_text(script, path, root)
    except ProjectFileUnread as why:
        return str(why)
    shown = os.path.normpath(os.path.join(os.path.dirname(shown_script), os.path.relpath(full, os.path.dirname(script))))
    try:
        return DataFile(text, shown, form)
    except Unreadable as why:
        return f"`{path}`: {why}"


def data_form(loader: str) -> Optional[str]:
    """The format a loader reads a file's stream or text in: JSON for json's, YAML for yaml's."""
    return "json" if loader.startswith("json.") else "yaml" if loader.startswith("yaml.") else None

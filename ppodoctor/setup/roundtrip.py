"""Data the script reads: what it wrote itself, an INI text it holds, a config file of the project
(INI here, JSON and YAML in datafiles.py).

JSON/YAML round-trips: `json.dump(config, open(PATH, "w"))` then `json.load(open(PATH))` (or
`yaml.safe_dump` / `yaml.safe_load`, each with `with open(...) as f`). What comes back is what went
in, when the file is this script's own: the same literal path, one write of it in the module before
the read, and the object written is visible (a mapping_view). A path written twice, or not by this
script, or not a literal, leaves the read unknown, as a file read at run time is.

configparser (inidata.py, whose IniResolution this mixin includes): an INI text the script holds,
writes or keeps beside it, read as Python's configparser reads it.

A mixin of mappings.MappingResolution.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Context
from .datafiles import DataFile, data_form
from .inidata import IniResolution
from .textdata import TextDataResolution
from .scanner import descendants
from ..types import ValueKind
from .facts import BindingKind

LOADERS = frozenset({"json.load", "json.loads", "yaml.safe_load", "yaml.load", "yaml.full_load", "yaml.unsafe_load"})
DUMPERS = frozenset({"json.dump", "yaml.dump", "yaml.safe_dump"})
_WRITE_MODES = ("w", "wt", "w+", "x")


# --- JSON and YAML the script writes and reads back ----------------------------------------------

class RoundTripResolution(IniResolution, TextDataResolution):
    def round_trip_view(self, call: cst.Call, ctx: Context, depth: int):
        """The mapping a loader call reads back, when this script wrote that very file (or parses a
        text it holds, textdata.py); else None."""
        data = self.text_data(call, ctx)
        if data is not None:
            return self.mapping_view(data, ctx, depth + 1)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if not positional:
            return None
        path = self._read_path(positional[0].value, ctx)
        if path is None:
            return None
        written = []
        for site in self.facts.calls:
            if self.qualname(site.node.func, Context(site.scope, site.position)) not in DUMPERS:
                continue
            args = [a for a in site.node.args if a.keyword is None and not a.star]
            handle = next((a.value for a in site.node.args if a.keyword and a.keyword.value == "stream"), None) \
                or (args[1].value if len(args) > 1 else None)
            if handle is None or not args:
                continue
            site_ctx = Context(site.scope, site.position, site.path)
            if self._opened_path(handle, site_ctx, writing=True) == path:
                written.append((site, args[0].value, site_ctx))
        if not written:  # a file of the project, not this script's own
            return self._project_data(path, call, ctx, depth)
        if len(written) != 1 or written[0][0].position >= self.facts.position(call):
            return None  # written more than once, or after the read: what is read cannot be told
        _site, obj, site_ctx = written[0]
        return self.mapping_view(obj, site_ctx, depth + 1)

    def _project_data(self, path: str, call: cst.Call, ctx: Context, depth: int):
        """The mapping a loader reads from a JSON/YAML file beside the script (datafiles.py), or None."""
        form = data_form(self.qualname(call.func, ctx))
        project = getattr(self, "project", None)
        if project is None or form is None or any(at[0] == path for at, _text in self._written_texts()):
            return None  # no file on disk, or the script writes it some other way: what is read is not the disk's
        found = project.data_file(path, form)
        if not isinstance(found, DataFile):
            return None
        self._project_used()  # the file's nodes answer their positions through the project's facts
        return self.mapping_view(found.expression, ctx, depth + 1)

    def _read_path(self, node: cst.BaseExpression, ctx: Context) -> Optional[str]:
        """The literal path of the file whose stream or text `node` is: `open(P)` (or the name a `with`
        binds to it), `Path(P).open()`, and its text: `open(P).read()`, `Path(P).read_text()`."""
        opened = self._opened_path(node, ctx, writing=False)
        if opened is not None or not isinstance(node, cst.Call) or node.args \
                or not isinstance(node.func, cst.Attribute):
            return opened
        method, receiver = node.func.attr.value, node.func.value
        if method == "read":
            return self._opened_path(receiver, ctx, writing=False)
        if method not in ("read_text", "open"):
            return None
        if isinstance(receiver, cst.Call) and len(receiver.args) == 1 and not receiver.args[0].keyword \
                and self.qualname(receiver.func, ctx) in ("pathlib.Path", "pathlib.PurePath"):
            receiver = receiver.args[0].value
        path = self.value(receiver, ctx)  # a path a `pathlib` expression makes (pathvalues.py)
        return path.value if path.kind == ValueKind.LITERAL and isinstance(path.value, str) else None

    def _opened_path(self, handle: cst.BaseExpression, ctx: Context, writing: bool) -> Optional[str]:
        """The literal path of `open(PATH[, mode])` that `handle` is (or names, through `with ... as`),
        opened for writing or for reading as asked."""
        if isinstance(handle, cst.Name):
            handle = self._with_item(handle, ctx)
        if not isinstance(handle, cst.Call) or self.qualname(handle.func, ctx) not in ("open", "io.open"):
            return None
        args = [a for a in handle.args if a.keyword is None and not a.star]
        mode_node = next((a.value for a in handle.args if a.keyword and a.keyword.value == "mode"), None) \
            or (args[1].value if len(args) > 1 else None)
        mode = self.value(mode_node, ctx).value if mode_node is not None else "r"  # unknown: not a str
        if not args or not isinstance(mode, str) or (mode.replace("b", "") in _WRITE_MODES) != writing:
            return None
        path = self.value(args[0].value, ctx)
        return path.value if path.kind == ValueKind.LITERAL and isinstance(path.value, str) else None

    def _with_item(self, name: cst.Name, ctx: Context) -> Optional[cst.BaseExpression]:
        """What `with EXPR as name` opened, for the one `with` that binds `name` before this point."""
        binding, _scope, ambiguous = self.lookup(name.value, ctx)
        if binding is None or ambiguous or binding.kind != BindingKind.OTHER:
            return None
        return self._with_items().get(binding.position)

    def _with_items(self) -> dict:
        """Position of each `with ... as NAME` target → the expression it opened (walked once)."""
        found = getattr(self, "_with_items_found", None)
        if found is None:
            found = {self.facts.position(node.asname.name): node.item for node in descendants(self.facts.module)
                     if type(node) is cst.WithItem and node.asname is not None
                     and isinstance(node.asname.name, cst.Name)}
            self._with_items_found = found
        return found

"""An INI text the script reads with configparser, read as configparser reads it (a mixin of
roundtrip.RoundTripResolution, the place for data the script reads).

A `ConfigParser()` (or RawConfigParser) bound to a name is the parser Python's own
configparser builds from the same input, replayed in order up to the read: `read_string(TEXT)`,
`read_dict({...})`, `read(PATH)` / `read_file(open(PATH))` of a file the script wrote (`f.write(TEXT)`,
`Path(PATH).write_text(TEXT)`, written once before the read) or of a file beside the script in the
project (reading a project's config file is reading its source, not running it), `set`,
`add_section`, `cp[section] = {...}`. Its values are read as configparser reads them:
`cp[section][key]`, `section = cp[name]; section[key]`, `cp.get(section, key, fallback=...)`,
`getint`/`getfloat`/`getboolean`, the DEFAULT section and interpolation included. Anything else done to
the parser (handed to a function, changed on one branch, a text the source does not show) leaves its
values unknown, with the reason.
"""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .context import Bound, Context, dominates
from .datafiles import ProjectFileUnread, project_file_text
from .model import Value
from ..types import UNKNOWN, ValueKind
from .facts import ActionKind, BindingKind

INI_PARSERS = frozenset({"configparser.ConfigParser", "configparser.RawConfigParser",
                         "configparser.SafeConfigParser"})
_INI_GETTERS = frozenset({"get", "getint", "getfloat", "getboolean"})
_INI_READERS = frozenset({"read_string", "read_dict", "read", "read_file", "set", "add_section",
                          "remove_section", "remove_option"})
_INI_QUERIES = frozenset({"sections", "has_section", "has_option", "options", "items", "defaults", "write"}) \
    | _INI_GETTERS
_SECTION_CHANGERS = frozenset({"pop", "popitem", "clear", "update", "setdefault", "__setitem__", "__delitem__"})
_HARMLESS = frozenset({"print", "len", "isinstance", "str", "repr", "sorted", "list", "dict", "bool"})
_INI_KEYWORDS = frozenset({"allow_no_value", "delimiters", "comment_prefixes", "inline_comment_prefixes", "strict",
                           "empty_lines_in_values", "default_section", "interpolation", "defaults"})


class IniUnknown(Exception):
    """What the parser holds cannot be told; the message says why."""


class IniResolution:
    def ini_value(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Optional[Value]:
        """The value configparser reads for `node` (`cp["s"]["k"]`, `section["k"]`, `cp.get("s", "k")`,
        `section.getint("k")`), unknown with the reason when the parser's contents cannot be told;
        None when `node` reads no configparser."""
        if not self._reads_ini():
            return None
        text = self.text(node)
        try:
            if isinstance(node, cst.Subscript):
                key = self.key_of(node, ctx, depth)
                section = self._ini_section(node.value, ctx, depth) if isinstance(key, str) else None
                return None if section is None else _ini_read(*section, "get", key, (), text)
            if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute) \
                    or node.func.attr.value not in _INI_GETTERS or any(a.star for a in node.args):
                return None
            method, receiver = node.func.attr.value, node.func.value
            # what is read first: a `.get(...)` of anything else is not configparser's
            section = self._ini_section(receiver, ctx, depth)
            parser = self._ini_parser(receiver, ctx, depth) if section is None else None
            if section is None and parser is None:
                return None
            args = [self._ini_literal(a.value, ctx, depth) for a in node.args if a.keyword is None]
            keywords = tuple((a.keyword.value, self._ini_literal(a.value, ctx, depth)) for a in node.args if a.keyword)
            if section is not None and 1 <= len(args) <= 2:  # a section's get(key, fallback)
                fallback = (("fallback", args[1]),) if len(args) == 2 else ()
                return _ini_read(*section, method, args[0], keywords + fallback, text)
            if parser is not None and len(args) == 2:
                return _ini_read(parser, args[0], method, args[1], keywords, text)
            return Value(UNKNOWN, None, text, f"`{text}` is not a read of configparser that is followed")
        except IniUnknown as why:
            return Value(UNKNOWN, None, text, str(why))
        return None

    def _reads_ini(self) -> bool:
        found = getattr(self, "_ini_imported", None)
        if found is None:
            found = self._ini_imported = any(i.module == "configparser" for i in self.facts.imports)
        return found

    def _ini_literal(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Any:
        found = self.value(node, ctx, depth + 1)
        if found.kind != ValueKind.LITERAL:
            raise IniUnknown(found.reason or f"`{self.text(node)}` is not known")
        return found.value

    def _ini_section(self, node: cst.BaseExpression, ctx: Context, depth: int):
        """(parser, section name) when `node` is a section of a configparser: `cp["s"]`, or a name
        bound to one (also through tuple unpacking); None when it is not one."""
        if isinstance(node, cst.Subscript):
            key = self.key_of(node, ctx, depth)
            parser = self._ini_parser(node.value, ctx, depth)
            if parser is None:
                return None
            if not isinstance(key, str):
                raise IniUnknown(f"the section `{self.text(node)}` names is not known")
            return parser, key
        found = self._bound_node(node, ctx)
        section = self._ini_section(found[0], found[1], depth + 1) if found is not None and depth < 24 else None
        if section is not None and isinstance(node, cst.Name):
            binding, scope, _ambiguous = self.lookup(node.value, ctx)
            if any(action.kind in (ActionKind.ITEM, ActionKind.DELITEM, ActionKind.SET)
                   or (action.kind == ActionKind.CALL and action.name in _SECTION_CHANGERS)
                   for action in self._actions_from(node.value, scope) if action.position > binding.position):
                raise IniUnknown(f"the section `{node.value}` is changed after it is read from the parser")
        return section

    def _bound_node(self, node: cst.BaseExpression, ctx: Context):
        """(expression, context) a name stands for: its one assignment (an element of it when unpacked)
        or the argument a followed call binds to it; None otherwise."""
        if not isinstance(node, cst.Name):
            return None
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is None or ambiguous:
            return None
        if binding.kind == BindingKind.PARAM:
            bound = self.param(node.value, ctx) if self.binds_in(scope, ctx) else None
            target = self.follow_index(bound.node, bound.index) if isinstance(bound, Bound) else None
            return (target, bound.ctx) if target is not None else None
        if binding.kind != BindingKind.ASSIGN or binding.value is None:
            return None
        target = self.follow_index(binding.value, binding.index) if binding.index else binding.value
        return (target, self.context_for(binding, scope, ctx)) if target is not None else None

    def _ini_parser(self, node: cst.BaseExpression, ctx: Context, depth: int):
        """The configparser `node` holds where it is read, replayed with Python's configparser; None
        when `node` is no configparser; IniUnknown when its contents cannot be told."""
        if not isinstance(node, cst.Name) or depth > 24:
            return None
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is not None and binding.kind == BindingKind.PARAM:
            found = self._bound_node(node, ctx)
            return self._ini_parser(found[0], found[1], depth + 1) if found is not None else None
        if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index \
                or not isinstance(binding.value, cst.Call):
            return None
        made_ctx = self.context_for(binding, scope, ctx)
        if self.qualname(binding.value.func, made_ctx) not in INI_PARSERS:
            return None
        same = scope is ctx.scope
        until = ctx.position if same else None
        cache = self.__dict__.setdefault("_ini_parsers", {})
        key = (id(binding), until)
        if key not in cache:
            try:
                cache[key] = self._replay(node.value, binding, scope, made_ctx, ctx.path if same else (), until)
            except IniUnknown as why:
                cache[key] = why
        if isinstance(cache[key], IniUnknown):
            raise cache[key]
        return cache[key]

    def _replay(self, name: str, binding, scope, made_ctx: Context, use_path, until):
        import configparser  # only for a script that reads an INI text

        made = binding.value
        options = {}
        for arg in made.args:
            if arg.keyword is None or arg.star or arg.keyword.value not in _INI_KEYWORDS:
                raise IniUnknown(f"`{self.text(made)}` is built with arguments that are not followed")
            if arg.keyword.value == "interpolation":
                options["interpolation"] = self._interpolation(arg.value, made_ctx)
            else:
                value = self._ini_literal(arg.value, made_ctx, 0)
                options[arg.keyword.value] = dict(value) if arg.keyword.value == "defaults" else value
        kind = self.qualname(made.func, made_ctx).rsplit(".", 1)[-1]
        parser = getattr(configparser, "RawConfigParser" if kind == "RawConfigParser" else "ConfigParser")(**options)
        for action in self._actions_from(name, scope):
            if action.position <= binding.position or (until is not None and action.position >= until):
                continue
            seen, _scope, _ambiguous = self.lookup(name, Context(scope, action.position, action.path))
            if seen is not binding:
                continue
            if action.kind == ActionKind.ATTRIBUTE or (action.kind == ActionKind.CALL and action.name in _INI_QUERIES):
                continue
            if type(action.subject) is not cst.Name and action.kind in (ActionKind.PASSED, ActionKind.CALL) \
                    and action.name not in _SECTION_CHANGERS:
                continue  # a section read, or handed on to be read (`dict(cp["ppo"])`)
            if action.kind == ActionKind.PASSED and action.name in _HARMLESS:
                continue
            if not dominates(action.path, use_path):
                raise IniUnknown(f"`{name}` is changed on some paths only")
            at = self._context_for(action.position, action.path, scope, made_ctx)
            self._ini_apply(parser, action, at)
        return parser

    def _actions_from(self, name: str, scope) -> list:
        """The recorded actions on `name` or on an expression it starts (`cp["s"]["k"] = v`) in `scope`."""
        index = self.__dict__.get("_ini_actions")
        if index is None:
            index = self._ini_actions = {}
            for action in self.facts.actions:
                index.setdefault((action.receiver, id(action.scope)), []).append(action)
        return index.get((name, id(scope)), [])

    def _interpolation(self, node: cst.BaseExpression, ctx: Context):
        import configparser  # only for a script that reads an INI text

        if isinstance(node, cst.Name) and node.value == "None":
            return None
        if isinstance(node, cst.Call) and not node.args:
            kind = self.qualname(node.func, ctx)
            if kind in ("configparser.BasicInterpolation", "configparser.ExtendedInterpolation"):
                return getattr(configparser, kind.rsplit(".", 1)[-1])()
        raise IniUnknown(f"the interpolation `{self.text(node)}` is not followed")

    def _ini_apply(self, parser, action, ctx: Context) -> None:
        import configparser  # only for a script that reads an INI text

        if action.kind == ActionKind.ITEM and isinstance(action.key, cst.BaseExpression):
            key, value = self._ini_literal(action.key, ctx, 0), self._ini_literal(action.node, ctx, 0)
            subject = action.subject
            if type(subject) is cst.Name and isinstance(value, dict):
                parser[key] = value  # `cp["paths"] = {...}`: a whole section
                return
            if isinstance(subject, cst.Subscript) and type(subject.value) is cst.Name and isinstance(value, str):
                section = self.key_of(subject, ctx, 0)  # `cp["paths"]["policy"] = "..."`
                if isinstance(section, str) and section in parser:
                    parser[section][key] = value
                    return
            raise IniUnknown(f"`{self.text(subject)}[{key!r}]` is set in a way that is not followed")
        if action.kind != ActionKind.CALL or action.name not in _INI_READERS or not isinstance(action.node, cst.Call):
            raise IniUnknown(f"`{action.receiver}` is {_described(action)}, which is not followed")
        call = action.node
        if any(a.star for a in call.args) or (action.name != "read" and any(a.keyword for a in call.args)):
            raise IniUnknown(f"`{self.text(call)}` has arguments that are not followed")
        args = [a.value for a in call.args if a.keyword is None]
        try:
            if action.name == "read_file":
                parser.read_string(self._file_text(args[0], ctx, opened=True))
            elif action.name == "read":
                paths = self._ini_literal(args[0], ctx, 0)
                for path in (paths,) if isinstance(paths, str) else paths:
                    text = self._file_text(args[0], ctx, path=path)
                    if text is not None:
                        parser.read_string(text, source=path)
            else:
                getattr(parser, action.name)(*(self._ini_literal(arg, ctx, 0) for arg in args))
        except (configparser.Error, KeyError, ValueError, TypeError, IndexError) as error:
            raise IniUnknown(f"`{self.text(call)}` fails: {error}") from None

    def _file_text(self, node: cst.BaseExpression, ctx: Context, path: Optional[str] = None,
                   opened: bool = False) -> Optional[str]:
        """The text of the file a read names: what this script wrote to it, once and before, else the
        project's file beside the script. None: a `read` of a file that is not there (configparser
        skips it too); IniUnknown when what it holds cannot be told."""
        if opened:
            path = self._opened_path(node, ctx, writing=False)
            if path is None:
                raise IniUnknown(f"the file `{self.text(node)}` reads is not known")
        written = [text for at, text in self._written_texts() if at[0] == path]
        if written:
            positions = [at[1] for at, _text in self._written_texts() if at[0] == path]
            if len(written) != 1 or positions[0] >= self.facts.position(node):
                raise IniUnknown(f"`{path}` is written more than once, or after it is read")
            if written[0] is None:
                raise IniUnknown(f"what the script writes to `{path}` is not known")
            return written[0]
        project = getattr(self, "project", None)
        if project is None:
            raise IniUnknown(f"`{path}` is not a file of the project beside the script")
        try:
            return project_file_text(project.path, path)[1]
        except ProjectFileUnread as why:
            if why.missing and not opened:
                return None
            raise IniUnknown(str(why)) from None

    def _written_texts(self) -> list:
        """((path, position), text or None) of every text the script writes to a literal path:
        `f.write(TEXT)` on a file opened for writing, `Path(PATH).write_text(TEXT)`."""
        found = getattr(self, "_written_found", None)
        if found is not None:
            return found
        found = self._written_found = []
        for site in self.facts.calls:
            func = site.node.func
            if not isinstance(func, cst.Attribute) or func.attr.value not in ("write", "write_text") \
                    or len(site.node.args) != 1 or site.node.args[0].keyword or site.node.args[0].star:
                continue
            ctx = Context(site.scope, site.position, site.path)
            if func.attr.value == "write":
                path = self._opened_path(func.value, ctx, writing=True)
            else:
                made = func.value
                path = None
                if isinstance(made, cst.Call) and self.qualname(made.func, ctx) in ("pathlib.Path", "pathlib.PurePath") \
                        and len(made.args) == 1:
                    value = self.value(made.args[0].value, ctx)
                    path = value.value if value.kind == ValueKind.LITERAL and isinstance(value.value, str) else None
            if path is None:
                continue
            text = self.value(site.node.args[0].value, ctx)
            found.append(((path, site.position), text.value if text.kind == ValueKind.LITERAL
                          and isinstance(text.value, str) else None))
        return found


def _described(action) -> str:
    if action.kind == ActionKind.PASSED:
        return f"handed to `{action.name}`"
    if action.kind == ActionKind.SET:
        return f"given the attribute `{action.name}`"
    if action.kind == ActionKind.CALL:
        return f"changed by `.{action.name}(...)`"
    return "changed"


def _ini_read(parser, section: str, method: str, key: Any, keywords: tuple, text: str) -> Value:
    """configparser's own answer to `parser[section].<method>(key, **keywords)`."""
    import configparser  # only for a script that reads an INI text

    if not isinstance(section, str) or not isinstance(key, str):
        return Value(UNKNOWN, None, text, f"`{text}` reads a section or key that is not text")
    try:
        if section not in parser:
            raise KeyError(section)
        proxy = parser[section]
        options = dict(keywords)
        if method == "get" and not options:
            found = proxy[key]
        else:
            found = getattr(proxy, method)(key, **options)
    except (configparser.Error, KeyError, ValueError, TypeError) as error:
        # the run fails there (or reads a fallback the source does not show): not a value to judge by
        return Value(UNKNOWN, None, text, f"configparser fails on `{text}`: {type(error).__name__}: {error}")
    return Value("literal", found, text)

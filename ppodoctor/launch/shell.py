"""A shell launcher (`run_ppo.sh`) → its launches, read with a real shell parser (bashlex).

What is followed: literal variable assignments in the order they run (`NP=8`, `export MODEL=...`, a
command's own `VAR=value` prefix), `$VAR`, `${VAR}`, `${VAR:-default}`/`${VAR-default}`/`${VAR:=default}`,
quoting and line continuations (the shell's own word splitting, after expansion). What is not:
command substitutions, positional parameters without a default, variables set inside `if`/`for`/
functions; a word that holds one stays as written and the launch says why in its unknowns. A
variable the launcher does not assign is read from the environment ppodoctor runs in, as the shell
would read it from the one it runs in (`BATCH=2 ppodoctor check run_ppo.sh`). Every command that starts a Python script (command.parse_command) is a launch, with the
line it starts on.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Optional

from .command import NotALaunch, parse_command
from .model import Launch, LaunchSource, Unknown


class ShellError(Exception):
    """A launcher bashlex cannot parse, with its reason."""


class _Unexpandable(Exception):
    pass


def read_launcher(path: Path, environ: Optional[dict[str, str]] = None) -> tuple[Launch, ...]:
    text = path.read_text(encoding="utf-8")
    return launches_of(text, str(path), path.parent, environ)


def launches_of(text: str, filename: str, base: Path, environ: Optional[dict[str, str]] = None) -> tuple[Launch, ...]:
    # bashlex only when a shell launcher is read: `check` of a Python file never imports it
    import bashlex

    try:
        trees = bashlex.parse(text)
    except (bashlex.errors.ParsingError, NotImplementedError, AssertionError) as error:
        raise ShellError(f"{filename}: cannot parse as a shell script: {error}") from None
    walker = _Walker(text, filename, base, dict(os.environ) if environ is None else environ)
    for tree in trees:
        walker.walk(tree, straight=True)
    return tuple(walker.launches)


class _Walker:
    def __init__(self, text: str, filename: str, base: Path, environ: dict[str, str]) -> None:
        self.text, self.filename, self.base, self.environ = text, filename, base, environ
        self.variables: dict[str, Optional[str]] = {}  # None: set in a way that cannot be told
        self.why_not: dict[str, str] = {}  # why a variable's value (None) cannot be told
        self.exported: set[str] = set()
        self.launches: list[Launch] = []

    def walk(self, node, straight: bool) -> None:
        kind = node.kind
        if kind == "command":
            self.command(node, straight)
        elif kind in ("list", "pipeline"):
            for part in node.parts:
                self.walk(part, straight and kind == "list")
        elif kind == "compound":
            for part in node.list:
                self.walk(part, False)
        elif kind in ("if", "for", "while", "until", "function", "case"):
            if kind == "for":  # the loop variable takes each item in turn: no one value
                loop_variable = next((p.word for p in node.parts if p.kind == "word"), None)
                if loop_variable:
                    self.variables[loop_variable] = None
                    self.why_not[loop_variable] = f"`${loop_variable}` is a loop variable"
            for part in getattr(node, "parts", ()) or ([node.body] if kind == "function" else []):
                self.walk(part, False)

    def command(self, node, straight: bool) -> None:
        assignments, words = [], []
        for part in node.parts:
            if part.kind == "assignment" and not words:
                assignments.append(part)
            elif part.kind in ("word", "assignment"):
                words.append(part)
        if not words:  # `NAME=value` alone: a shell variable from here on
            for part in assignments:
                self.assign(part, straight)
            return
        if words[0].word in ("export", "declare", "readonly", "local"):
            for part in words[1:]:
                if "=" in part.word:
                    self.assign(part, straight, export=words[0].word == "export")
                elif part.word.isidentifier():
                    self.exported.add(part.word)
            return
        unknowns: list[Unknown] = []
        prefix_env = {}
        for part in assignments:
            name, value = self.assignment_value(part, unknowns)
            prefix_env[name] = value if value is not None else ""
        expanded: list[str] = []
        for part in words:
            expanded.extend(self.expand(part, unknowns))
        env = {name: value for name, value in self.variables.items() if name in self.exported and value is not None}
        env.update(prefix_env)
        source = LaunchSource(self.filename, self.text.count("\n", 0, node.pos[0]) + 1,
                              " ".join(self.text[node.pos[0]:node.pos[1]].replace("\\\n", " ").split()))
        try:
            launch = parse_command(expanded, self.base, source, env)
        except NotALaunch:
            return
        if unknowns:
            import dataclasses

            launch = dataclasses.replace(launch, unknowns=launch.unknowns + tuple(unknowns))
        self.launches.append(launch)

    def assign(self, part, straight: bool, export: bool = False) -> None:
        unknowns: list[Unknown] = []
        name, value = self.assignment_value(part, unknowns)
        self.variables[name] = value if straight else None
        if value is None or not straight:
            self.why_not[name] = unknowns[0].reason if unknowns else f"`${name}` is set inside a branch, loop or function"
        if export:
            self.exported.add(name)

    def assignment_value(self, part, unknowns: list[Unknown]) -> tuple[str, Optional[str]]:
        name = part.word.partition("=")[0]
        start = part.pos[0] + len(name) + 1
        try:
            words = self._expand_text(start, part.pos[1], getattr(part, "parts", ()))
        except _Unexpandable as why:
            unknowns.append(Unknown(f"`{name}`", str(why)))
            return name, None
        return name, " ".join(words)

    def expand(self, part, unknowns: list[Unknown]) -> list[str]:
        try:
            return self._expand_text(part.pos[0], part.pos[1], getattr(part, "parts", ()))
        except _Unexpandable as why:
            written = self.text[part.pos[0]:part.pos[1]]
            unknowns.append(Unknown(f"argument `{written}`", str(why)))
            return [written]

    def _expand_text(self, start: int, end: int, parts) -> list[str]:
        """The words the shell makes of source[start:end]: expansions substituted, then its quoting
        and word splitting (shlex in POSIX mode)."""
        pieces, cursor = [], start
        for sub in sorted(parts, key=lambda p: p.pos[0]):
            if sub.kind == "commandsubstitution":
                raise _Unexpandable("a command substitution is run at launch time")
            if sub.kind != "parameter":
                continue
            quote = _quote_at(self.text, start, sub.pos[0])
            if quote == "'":
                continue  # no expansion between single quotes (bashlex 0.18 reports one there)
            pieces.append(self.text[cursor:sub.pos[0]])
            value = self.parameter(sub.value)
            # Inside double quotes the value stays one word; outside, the shell splits it into words.
            pieces.append(_escaped(value) if quote == '"' else value)
            cursor = sub.pos[1]
        pieces.append(self.text[cursor:end])
        return shlex.split("".join(pieces).replace("\\\n", " "), posix=True)

    def parameter(self, expression: str) -> str:
        name, default = expression, None
        for operator in (":-", ":=", "-", "="):
            if operator in expression:
                name, _, default = expression.partition(operator)
                break
        value = self.variables[name] if name in self.variables else self.environ.get(name)
        if name in self.variables and value is None:
            raise _Unexpandable(self.why_not.get(name, f"`${name}` cannot be told"))
        if value is None or (value == "" and default is not None and ":" in expression[len(name):len(name) + 1]):
            if default is None:
                if name.isdigit() or name in ("@", "*"):
                    raise _Unexpandable(f"`${name}` comes from the launcher's arguments")
                raise _Unexpandable(f"`${name}` is set neither in the launcher nor in the environment")
            return default
        return value


def _quote_at(text: str, start: int, position: int) -> str:
    """The quote ('"', "'" or "") open at `position` in the word that starts at `start`."""
    quote, escaped = "", False
    for char in text[start:position]:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif char in "'\"" and quote in ("", char):
            quote = "" if quote == char else char
    return quote


def _escaped(value: str) -> str:
    """`value` as it must be written between double quotes for shlex to read it back."""
    return "".join("\\" + char if char in '"\\' else char for char in value)  # shlex unescapes only these

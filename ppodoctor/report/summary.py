"""What a run amounts to: its exit status, its error lines, its closing summary and statistics.

The commands only print what these return: the status follows ruff's rules in every mode, and the
wording is the same whichever command produced the report.

- `check`: 1 when findings remain, else 0 (`--exit-zero`: 0 whatever remains); with `--fix`, what
  remains after writing counts, and `--exit-non-zero-on-fix` makes any written fix count too; with
  `--diff`, 1 when there is something to fix.
- A file that could not be read, decoded or compiled is a bad input, not a finding: 2 in every mode,
  `--exit-zero` included, so that CI never passes over a file nobody checked.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional

from ..trl_api.coverage import describe as describe_target
from ..types import EXIT_CLEAN, ERROR, SAFE, UNSAFE, Diagnostic
from ..types import exit_status as status_of
from .formats import FILE_ERROR
from .terminal import Styler, plain

def exit_status(report, *, exit_zero: bool = False, fixed: int = 0, exit_non_zero_on_fix: bool = False,
                would_fix: Optional[int] = None, errors: int = 0) -> int:
    """`report`: what remains to report; `fixed`: findings --fix wrote; `would_fix`: with --diff,
    the findings the diff fixes (the status is then about them alone); `errors`: further files that
    failed outside the report (a write that failed)."""
    if exit_zero and not (report.errors or errors):
        return EXIT_CLEAN
    if would_fix is not None:
        left = bool(would_fix)
    else:
        left = bool(report.problems) or bool(exit_non_zero_on_fix and fixed)
    return status_of(errors=bool(report.errors or errors), left=left)


def error_line(path: str, cause: str, style: Styler = plain) -> str:
    """`path: error: cause`, the one line every bad input gets on stderr, in every output format."""
    return f"{style(path, bold=True)}: {style('error', fg='red', bold=True)}: {cause}"


def error_lines(report, style: Styler = plain) -> list[str]:
    return [error_line(item.path, item.error, style) for item in report.errors]


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def _fixable(diagnostic: Diagnostic, unsafe_fixes: bool) -> bool:
    return diagnostic.fix is not None and (diagnostic.fix.applicability == SAFE or (
        unsafe_fixes and diagnostic.fix.applicability == UNSAFE))


def summary_lines(report, style: Styler = plain, *, fixed: tuple[Diagnostic, ...] = (),
                  unsafe_fixes: bool = False, show_fixes: bool = False) -> list[str]:
    """The lines that close the text and concise formats: the count (with what --fix did), the
    fixes still available, how many files could not be checked, the TRL checked against."""
    diagnostics = report.problems  # a finding the probe refuted is shown as such, never counted
    lines = []
    if show_fixes and fixed:
        lines.extend(fixed_lines(fixed))
    if fixed:
        total = len(diagnostics) + len(fixed)
        lines.append(f"Found {_plural(total, 'problem')} ({len(fixed)} fixed, {len(diagnostics)} remaining).")
    elif diagnostics:
        errors = sum(1 for d in diagnostics if d.severity == ERROR)
        lines.append(f"Found {_plural(len(diagnostics), 'problem')} ({_plural(errors, 'error')}, "
                     f"{_plural(len(diagnostics) - errors, 'warning')}).")
    elif not report.errors:
        lines.append(style("All checks passed!", fg="green", bold=True))
    fixable = sum(1 for d in diagnostics if _fixable(d, unsafe_fixes))
    hidden = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == UNSAFE
                 and not _fixable(d, unsafe_fixes))
    if fixable:
        options = "`--fix --unsafe-fixes` options" if unsafe_fixes and any(
            d.fix.applicability == UNSAFE for d in diagnostics if d.fix is not None) else "`--fix` option"
        lines.append(f"[*] {fixable} fixable with the {options}.")
    if hidden:
        lines.append(f"({_plural(hidden, 'more fix', 'more fixes')} written by `--fix` once the probe confirms "
                     f"{'it' if hidden == 1 else 'them'}, or with the `--unsafe-fixes` option.)")
    refuted = report.refuted
    if refuted:
        lines.append(f"{_plural(len(refuted), 'finding')} refuted by the probe (the failure does not happen here; "
                     "not counted).")
    if report.errors:
        lines.append(f"{_plural(len(report.errors), 'file')} could not be checked (the errors are on stderr).")
    for target in report.targets:
        lines.append(f"Checked against {describe_target(target)}.")
    return lines


def fixed_lines(fixed: Iterable[Diagnostic]) -> list[str]:
    """--show-fixes: what --fix wrote, per file and code (`  2 × PPD101 (value-model-missing)`)."""
    by_file: dict[str, Counter] = {}
    for diagnostic in fixed:
        by_file.setdefault(diagnostic.filename, Counter())[(diagnostic.code, diagnostic.name)] += 1
    total = sum(sum(counts.values()) for counts in by_file.values())
    lines = [f"Fixed {_plural(total, 'problem')}:"]
    for path in sorted(by_file):
        lines.append(f"- {path}:")
        lines.extend(f"    {count} × {code} ({name})" for (code, name), count in sorted(by_file[path].items()))
    return lines


def statistics(report, unsafe_fixes: bool = False) -> list[dict]:
    """--statistics: one row per code, most frequent first; `fixable` when every finding of the
    code has a fix --fix applies, `hidden_fixes` for those that need --unsafe-fixes. Files that could
    not be checked are counted as `file-error`, with no code."""
    rows: dict[str, dict] = {}
    for diagnostic in report.diagnostics:
        row = rows.setdefault(diagnostic.code, {"code": diagnostic.code, "name": diagnostic.name, "count": 0,
                                                "fixable": 0, "hidden_fixes": 0})
        row["count"] += 1
        row["fixable"] += _fixable(diagnostic, unsafe_fixes)
        row["hidden_fixes"] += diagnostic.fix is not None and not _fixable(diagnostic, unsafe_fixes)
    ordered = sorted(rows.values(), key=lambda row: (-row["count"], row["code"]))
    for row in ordered:
        row["fixable"] = row["fixable"] == row["count"]
    if report.errors:
        ordered.append({"code": None, "name": FILE_ERROR, "count": len(report.errors), "fixable": False,
                        "hidden_fixes": 0})
    return ordered


def render_statistics(report, as_json: bool = False, unsafe_fixes: bool = False) -> str:
    """`count  code  [*] name`: `[*]` fixable with --fix, `[-]` with --fix --unsafe-fixes."""
    rows = statistics(report, unsafe_fixes)
    if as_json:
        import json

        return json.dumps(rows, indent=2) + "\n"
    count_width = max((len(str(row["count"])) for row in rows), default=1)
    code_width = max((len(row["code"] or "") for row in rows), default=0)
    return "".join(f"{row['count']:>{count_width}}\t{row['code'] or '':<{code_width}}\t"
                   f"{'[*]' if row['fixable'] else '[-]' if row['hidden_fixes'] else '   '} {row['name']}\n"
                   for row in rows)


class FixSummary:
    """What a fix run says: the diff (when nothing is written), per-finding and per-file messages
    for stderr, the closing lines (which --quiet drops) and the exit status (the FixReport's: 1 while a
    fix is held back or a finding is left, a diff has changes, 2 for a file that failed)."""

    def __init__(self, fix_report, write: bool, use_probe: bool = True, apply_hint: str = "") -> None:
        files = fix_report.files  # `write` must be the report's own (fix_paths(write=...))
        self.fixed: tuple[Diagnostic, ...] = tuple(d for r in files if r.written for d in r.applied)
        self.errors: tuple[tuple[str, str], ...] = tuple((r.path, r.error) for r in files if r.error)
        self.diff = "".join(r.diff() for r in files if not write and not r.error and r.changed)
        self.would_fix = sum(len(r.applied) for r in files if not r.error and r.changed)
        self.status = fix_report.exit_code
        self.messages = tuple(_finding_lines(files, write))
        self.closing = tuple(_closing_lines(files, write, use_probe, self.fixed, self.would_fix, apply_hint))


def _finding_lines(files, write: bool) -> list[str]:
    """One line per finding whose fix was held back or gated: `path:line:col: CODE what happened` (a
    preview says what the write would do, from the same decision)."""
    # the fix engine (libcst) loads only when fixes are shown
    from ..pipeline.engine import finding_key

    lines = []
    for result in files:
        if result.error:
            continue
        gated = sorted(result.outcomes, key=lambda o: o.diagnostic.sort_key())
        gated_keys = {finding_key(o.diagnostic) for o in gated}
        for skipped in result.skipped:
            if not skipped.reason.startswith("unsafe fix") and finding_key(skipped.diagnostic) not in gated_keys:
                lines.append(f"{skipped.diagnostic.location}: {skipped.diagnostic.code} not fixed: {skipped.reason}")
        # A preview's diff already shows the fixes no probe looked at; the rest say what the gate decided.
        lines.extend(f"{o.diagnostic.location}: {o.diagnostic.code} {o.describe(write)}" for o in gated
                     if write or o.verdict is not None or not o.fixed)
        if result.not_written and not result.written:
            lines.append(f"{result.path}: {'not written' if write else 'nothing would be written'}: "
                         f"{result.not_written}")
        # what is left that no fix covers: "Fixed 0 problems" never stands alone (ruff says so too)
        listed = gated_keys | {finding_key(s.diagnostic) for s in result.skipped}
        for diagnostic in result.remaining_problems:
            if diagnostic.fix is None and finding_key(diagnostic) not in listed:
                why = getattr(diagnostic.rule, "no_fix_reason", "") if diagnostic.rule is not None else ""
                lines.append(f"{diagnostic.location}: {diagnostic.code} left: no automatic fix"
                             + (f": {why}" if why else f" (ppodoctor explain {diagnostic.code})"))
    return lines


def _closing_lines(files, write: bool, use_probe: bool, fixed, would_fix: int, apply_hint: str) -> list[str]:
    lines = []
    if write:
        written = sum(1 for r in files if r.written)
        if not use_probe and written:
            lines.append("The fixes were not confirmed by the runtime probe (--no-probe).")
        lines.append(f"Fixed {_plural(len(fixed), 'problem')} in {_plural(written, 'file')}.")
    else:
        changed = sum(1 for r in files if not r.error and r.changed)
        lines.append(f"Would fix {_plural(would_fix, 'problem')} in {_plural(changed, 'file')}{apply_hint}."
                     if changed else "Nothing to fix.")
    unsafe = sum(1 for r in files for s in r.skipped if s.reason.startswith("unsafe fix"))
    if unsafe:
        lines.append(f"{unsafe} more fix{'es' * (unsafe != 1)} available with --unsafe-fixes.")
    return lines

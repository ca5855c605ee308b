"""How precise is ppodoctor on real PPO scripts? Checks a folder of them against a manifest and prints a table.

    python scripts/corpus_check.py DIR [--tsv docs/corpus.tsv] [--latest 1.12.0 | --latest none] [--markdown]

DIR holds the files the manifest (docs/corpus.tsv) names in its `file` column; fetching them is the
reader's job (the manifest gives repo, path and commit). Each file is checked with ppodoctor's library
API at the TRL version it was written for (`trl_version`), and its error-level codes are compared with
`expected_codes`, the codes that must fire there:

- a code listed and found is right; a code found but not listed is a false alarm; a code listed but not
  found is a missed crash;
- `?name` in `expected_codes` is a crash that no rule covers yet (issue 12 lists them); it is counted
  as "uncovered", not as a miss;
- `bad-input` in `expected_codes` says the file is not valid Python (a real script committed broken):
  ppodoctor reporting it as unreadable is then right, and wrong anywhere else;
- warnings are shown but not judged.

With `--latest` (default 1.12.0, the last TRL with PPO) a second pass checks each file against that
version and compares with `on_latest` ("runs", or "crashes: why"): an error-level finding on a file that
crashes there is right, one on a file that runs is a false alarm, none on a file that crashes is a miss.

Notebooks are checked once ppodoctor reads them (a probe notebook tells); until then they are listed as
"not checked". The exit code is 0 whatever the findings (it is a report); 2 only for unusable arguments.
"""

from __future__ import annotations

import argparse
import csv
import enum
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ppodoctor import api  # noqa: E402
from ppodoctor.config import Settings  # noqa: E402
from ppodoctor.types import MODEL_ROLES, UNKNOWN, Role  # noqa: E402

REQUIRED_COLUMNS = ("file", "trl_version", "expected", "expected_codes")
# The roles whose "unknown" makes rules go silent (collators and eval sets are left out: they never matter).
WATCHED_ROLES = (*MODEL_ROLES, Role.PROCESSING_CLASS, Role.CONFIG, Role.TRAIN_DATASET)
UNCOVERED_PREFIX = "?"
BAD_INPUT = "bad-input"
NEWEST_WITH_PPO = "1.12.0"


class Verdict(enum.Enum):
    RIGHT = "right"
    FALSE_ALARM = "FALSE ALARM"
    MISSED = "MISSED"
    UNCOVERED = "uncovered"


class Status(enum.Enum):
    CHECKED = "checked"
    NOT_CHECKED = "not checked"  # a notebook, while ppodoctor does not read notebooks
    MISSING = "missing"  # listed in the manifest, absent from DIR
    UNREADABLE = "unreadable"  # ppodoctor reported the file as bad input


@dataclass(frozen=True)
class Row:
    file: str
    trl_version: str
    expected: str
    expected_codes: tuple[str, ...]
    on_latest: str = ""
    styles: str = ""

    @property
    def is_notebook(self) -> bool:
        return self.file.endswith(".ipynb")

    @property
    def runs_on_latest(self) -> Optional[bool]:
        text = self.on_latest.strip().lower()
        if not text:
            return None
        return text.startswith("runs")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    line: int
    cell: Optional[int] = None

    def describe(self) -> str:
        where = f"cell {self.cell}:{self.line}" if self.cell is not None else str(self.line)
        return f"{self.code}@{where}" + ("" if self.severity == "error" else f"({self.severity[0]})")


@dataclass
class Judgement:
    """One pass over one file: what was found and what each finding or expectation is worth."""

    status: Status
    findings: tuple[Finding, ...] = ()
    verdicts: list[tuple[str, Verdict]] = field(default_factory=list)
    detail: str = ""
    setups: int = 0  # trainer constructions ppodoctor found
    unknown_roles: tuple[str, ...] = ()  # watched roles it could not resolve, over all setups

    def resolution(self) -> str:
        if self.status is not Status.CHECKED:
            return ""
        if not self.setups:
            return "no setup"
        return f"{self.setups} setup(s)" + (f"; unknown: {','.join(self.unknown_roles)}" if self.unknown_roles else "")

    def count(self, verdict: Verdict) -> int:
        return sum(1 for _code, given in self.verdicts if given is verdict)

    def describe(self) -> str:
        if self.status is Status.UNREADABLE:
            verdicts = ", ".join(f"{code} {verdict.value}" for code, verdict in self.verdicts)
            return f"unreadable ({self.detail})" + (f": {verdicts}" if verdicts else "")
        if self.status is not Status.CHECKED:
            return self.status.value + (f": {self.detail}" if self.detail else "")
        if not self.verdicts:
            return "ok (nothing expected, nothing found)"
        return ", ".join(f"{code} {verdict.value}" for code, verdict in self.verdicts)


def load_manifest(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: the manifest has no column {', '.join(missing)}")
        rows = []
        for record in reader:
            codes = tuple(code.strip() for code in (record["expected_codes"] or "").split(",") if code.strip())
            rows.append(Row(record["file"], record["trl_version"].strip(), record["expected"], codes,
                            (record.get("on_latest") or "").strip(), record.get("styles") or ""))
        return rows


def notebooks_supported() -> bool:
    """Does ppodoctor read notebooks yet? Checks a notebook whose only cell builds a 0.12 trainer without
    `value_model` (PPD101 on trl 0.12.2); any finding on it means the cells were read."""
    cell = ("from trl import PPOConfig, PPOTrainer\n"
            "trainer = PPOTrainer(config=PPOConfig(), processing_class=tok, policy=policy, ref_policy=ref,\n"
            "                     reward_model=reward, train_dataset=data)\n")
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": cell.splitlines(keepends=True)}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "probe.ipynb"
        path.write_text(json.dumps(notebook), encoding="utf-8")
        report = api.check_paths([path], Settings(trl_version="0.12.2"), jobs=1)
    return any(report.diagnostics)


@dataclass(frozen=True)
class Checked:
    problem: Optional[str]  # ppodoctor's bad-input reason, if any
    findings: tuple[Finding, ...]
    setups: int
    unknown_roles: tuple[str, ...]


def check(path: Path, version: str) -> Checked:
    """One file at one TRL version, through the library API: findings and how much of the setup resolved."""
    report = api.check_paths([path], Settings(trl_version=version), jobs=1)
    errors = [file.error for file in report.files if file.error]
    findings = tuple(Finding(d.code, d.severity, d.span.line, getattr(d.span, "cell", None))
                     for d in report.diagnostics)
    setups = [setup for file in report.files if file.setup is not None for setup in file.setup.setups]
    unknown = {binding.role for setup in setups for binding in setup.roles
               if binding.role in WATCHED_ROLES and binding.origin.kind == UNKNOWN}
    return Checked(errors[0] if errors else None, findings, len(setups),
                   tuple(role for role in WATCHED_ROLES if role in unknown))


def judge_own_era(row: Row, findings: tuple[Finding, ...]) -> list[tuple[str, Verdict]]:
    found = []
    for finding in findings:
        if finding.severity == "error" and finding.code not in found:
            found.append(finding.code)
    expected = [code for code in row.expected_codes if not code.startswith(UNCOVERED_PREFIX) and code != BAD_INPUT]
    verdicts = [(code, Verdict.RIGHT if code in expected else Verdict.FALSE_ALARM) for code in found]
    if BAD_INPUT in row.expected_codes:
        verdicts.append((BAD_INPUT, Verdict.MISSED))
    verdicts += [(code, Verdict.MISSED) for code in expected if code not in found]
    verdicts += [(code, Verdict.UNCOVERED) for code in row.expected_codes if code.startswith(UNCOVERED_PREFIX)]
    return verdicts


def judge_latest(row: Row, findings: tuple[Finding, ...]) -> list[tuple[str, Verdict]]:
    errors = sorted({finding.code for finding in findings if finding.severity == "error"})
    runs = row.runs_on_latest
    if runs is None:
        return []
    if runs:
        return [(code, Verdict.FALSE_ALARM) for code in errors]
    if errors:
        return [(" ".join(errors), Verdict.RIGHT)]
    return [("crash", Verdict.MISSED)]


def run_pass(row: Row, directory: Path, version: str, notebooks: bool, latest: bool) -> Judgement:
    path = directory / row.file
    if not path.is_file():
        return Judgement(Status.MISSING)
    if row.is_notebook and not notebooks:
        return Judgement(Status.NOT_CHECKED, detail="ppodoctor does not read notebooks yet")
    checked = check(path, version)
    if checked.problem is not None:
        verdict = Verdict.RIGHT if BAD_INPUT in row.expected_codes else Verdict.FALSE_ALARM
        return Judgement(Status.UNREADABLE, checked.findings, [(BAD_INPUT, verdict)], detail=checked.problem)
    verdicts = judge_latest(row, checked.findings) if latest else judge_own_era(row, checked.findings)
    return Judgement(Status.CHECKED, checked.findings, verdicts, setups=checked.setups,
                     unknown_roles=checked.unknown_roles)


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def totals(judgements: list[Judgement]) -> dict[str, int]:
    checked = [j for j in judgements if j.status in (Status.CHECKED, Status.UNREADABLE)]
    return {
        "files checked": sum(1 for j in judgements if j.status is Status.CHECKED),
        "not checked (notebooks)": sum(1 for j in judgements if j.status is Status.NOT_CHECKED),
        "missing from DIR": sum(1 for j in judgements if j.status is Status.MISSING),
        "unreadable": sum(1 for j in judgements if j.status is Status.UNREADABLE),
        "right findings": sum(j.count(Verdict.RIGHT) for j in checked),
        "error-level false alarms": sum(j.count(Verdict.FALSE_ALARM) for j in checked),
        "files with a false alarm": sum(1 for j in checked if j.count(Verdict.FALSE_ALARM)),
        "missed crashes": sum(j.count(Verdict.MISSED) for j in checked),
        "uncovered crashes (no rule yet)": sum(j.count(Verdict.UNCOVERED) for j in checked),
        "setups found": sum(j.setups for j in checked),
        "files with an unknown model/tokenizer/config/dataset role": sum(1 for j in checked if j.unknown_roles),
    }


def render(rows: list[Row], own: list[Judgement], latest: Optional[list[Judgement]], latest_version: str,
           markdown: bool) -> str:
    headers = ["file", "era", "expected", "found", "verdict", "resolution"]
    if latest is not None:
        headers += [f"found on {latest_version}", "verdict"]
    table = []
    for index, row in enumerate(rows):
        line = [row.file, row.trl_version, shorten(row.expected.replace("`", ""), 60),
                " ".join(f.describe() for f in own[index].findings) or "-", own[index].describe(),
                own[index].resolution()]
        if latest is not None:
            line += [" ".join(f.describe() for f in latest[index].findings) or "-", latest[index].describe()]
        table.append(line)
    out = []
    if markdown:
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "---|" * len(headers))
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in table]
    else:
        # Only `expected` is shortened (above): verdicts and findings are the report, never cut.
        widths = [max(len(h), *(len(line[i]) for line in table)) if table else len(h) for i, h in enumerate(headers)]
        out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
        out += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in table]
    for title, judgements in (("on its own era", own), (f"on trl {latest_version}", latest)):
        if judgements is None:
            continue
        out.append("")
        out.append(f"Totals {title}:" if not markdown else f"**Totals {title}:**")
        out += [(f"- {name}: {value}" if markdown else f"  {name}: {value}")
                for name, value in totals(judgements).items()]
    return "\n".join(out)


def unlisted(directory: Path, rows: list[Row]) -> list[str]:
    listed = {row.file for row in rows}
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix in (".py", ".ipynb")
                  and p.name not in listed)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="folder holding the manifest's files")
    parser.add_argument("--tsv", type=Path, default=ROOT / "docs" / "corpus.tsv", help="the manifest")
    parser.add_argument("--latest", default=NEWEST_WITH_PPO,
                        help="second pass against this TRL version ('none' to skip)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"corpus_check: {args.directory}: not a directory", file=sys.stderr)
        return 2
    try:
        rows = load_manifest(args.tsv)
    except (OSError, ValueError) as error:
        print(f"corpus_check: {error}", file=sys.stderr)
        return 2
    notebooks = notebooks_supported()
    own = [run_pass(row, args.directory, row.trl_version, notebooks, latest=False) for row in rows]
    latest = None
    if args.latest.lower() != "none":
        latest = [run_pass(row, args.directory, args.latest, notebooks, latest=True) for row in rows]
    print(render(rows, own, latest, args.latest, args.markdown))
    extra = unlisted(args.directory, rows)
    if extra:
        print(f"\n{len(extra)} file(s) in {args.directory} are not in the manifest: {', '.join(extra)}")
    print(f"\nNotebooks: {'read by ppodoctor' if notebooks else 'not read by ppodoctor yet (listed as not checked)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

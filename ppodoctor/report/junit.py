"""JUnit XML, as CI servers read test results: one test suite per file with findings, one failing
test case per finding (`ppodoctor.PPD101`, with its line and column) and per file that could not
be checked (`ppodoctor.file-error`); a run with neither is one passing case."""

from __future__ import annotations

import re
from pathlib import PurePath

from .formats import FILE_ERROR
# Characters XML 1.0 cannot carry at all (C0 controls but tab, newline and carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _classname(path: str) -> str:
    pure = PurePath(path)
    return pure.with_suffix("").as_posix() if pure.suffix else pure.as_posix()


def render_junit(report) -> str:
    from xml.etree import ElementTree

    root = ElementTree.Element("testsuites", name="ppodoctor")
    total = failures = 0
    for file_report in report.files:
        cases = []
        if file_report.error:
            line, column = file_report.error_position or (1, 1)
            cases.append((FILE_ERROR, line, column, file_report.error))
        cases.extend((d.code, d.span.line, d.span.column, d.message) for d in file_report.diagnostics)
        if not cases:
            continue
        suite = ElementTree.SubElement(root, "testsuite", name=_text(file_report.path), tests=str(len(cases)),
                                       failures=str(len(cases)), errors="0", skipped="0")
        for code, line, column, message in cases:
            case = ElementTree.SubElement(suite, "testcase", name=f"ppodoctor.{code}",
                                          classname=_text(_classname(file_report.path)), line=str(line),
                                          column=str(column))
            failure = ElementTree.SubElement(case, "failure", message=_text(message), type=code)
            failure.text = _text(f"line {line}, col {column}, {message}")
        total += len(cases)
        failures += len(cases)
    if not total:
        suite = ElementTree.SubElement(root, "testsuite", name="ppodoctor", tests="1", failures="0", errors="0",
                                       skipped="0")
        ElementTree.SubElement(suite, "testcase", name="No problems found", classname="ppodoctor")
        total = 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"

"""The fix library: formatting-preserving edits computed from the setup model, which the rules call.

    rules → Diagnostic.fix (title, applicability) → the rule's own fix() (setup model + libcst
    source map (source.py) → Edits (types.Edit, applied by edits.py), with the building blocks in
    builders.py, value_model.py, calls.py, imports.py)

The stages that call the rules in turn live in pipeline/: engine.py (apply what does not collide,
re-parse, re-check, repeat ≤ 10 rounds) and fix.py (diff, or probe-gated atomic write).

A fix is a set of text edits located with libcst metadata, so every byte a fix does not mean to
change is kept: comments, quoting, spacing, CRLF line endings, the BOM and the declared encoding.
Imports a fix needs are added once, in the file's style (imports.py).
"""


__all__ = ["builders", "calls", "edits", "imports", "source", "value_model"]

"""Jupyter notebooks, as a user meets them: `check`, every output format, directory scans, `# noqa`,
`fix` (diff and --write, byte for byte outside the fixed cells), and bad notebooks.

The fixtures in fixtures/notebooks are in three writers' styles: Jupyter's (nbformat: indent 1,
sorted keys, a trailing newline), Colab's (indent 2, its own key order, no trailing newline) and one
with CRLF line endings, `source` as one string and non-ASCII escaped. The byte-exactness tests
re-serialise the expected document in the writer's own style and compare bytes, so any byte a fix
touches outside the cells it changed shows up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import libcst
import pytest

from ppodoctor import api, files
from ppodoctor.magics import mask_cell, unmask
from ppodoctor.notebook import NotebookError, cell_map, decode_notebook
from ppodoctor.report import render
from notebook_helpers import IMPORTS, MODELS, REFERENCE_IS_POLICY, nbformat_bytes, notebook, sources

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "fixtures" / "notebooks"
TUTORIAL = NOTEBOOKS / "ppo_tutorial_broken.ipynb"
COLAB = NOTEBOOKS / "ppo_clean_colab.ipynb"
STRINGS = NOTEBOOKS / "ppo_crlf_string_sources.ipynb"
PPD101_MESSAGE = "PPOTrainer is built without `value_model`"


def ppodoctor(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


# --- IPython lines --------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", [
    "%pip install -q trl==1.12.0\n!nvidia-smi\nimport torch",
    "%%capture\nimport torch\nx = 1\n",
    "if not ready:\n    !wget -q https://example.com/data.json\nx = 1\n",
    "!pip install \\\n    trl \\\n    peft\nx = 1\n",
    "files = !ls\nnames = %who_ls\nPPOTrainer?\n??PPOConfig\n/print 1 2\n",
    "%load_ext autoreload\r\n%autoreload 2\r\nimport os\r\n",
    "pip install trl\ncd ..\nenv['HOME'] = '/tmp'\ntime = 5\n",
])
def test_ipython_lines_are_masked_keeping_lines_and_restored_exactly(cell):
    masked = mask_cell(cell, "ppodoctor")
    libcst.parse_module(masked)  # parses, even with a magic as the only line of a block
    assert masked.count("\n") == cell.count("\n")
    restored, _runs = unmask(masked, "ppodoctor")
    assert restored == cell


def test_python_that_looks_like_ipython_is_left_alone():
    cell = ('prompt = """\n!not a shell line\n%not a magic\n"""\nx = 1  # why?\ntime = 5\nenv["A"] = "b"\n'
            'y = (a\n     % b)\nz = 3 if a != b else 4\n')
    assert mask_cell(cell, "ppodoctor") == cell


def test_a_cell_magic_of_another_language_is_not_python():
    assert mask_cell("%%bash\necho PPOTrainer\n", "ppodoctor") is None
    assert mask_cell("%%writefile train.py\nfrom trl import PPOTrainer\n", "ppodoctor") is None
    assert mask_cell("%%time\nx = 1\n", "ppodoctor") is not None


def test_the_program_text_keeps_every_cells_line_numbers():
    source = decode_notebook(TUTORIAL.read_bytes())
    layout = cell_map(source.text)
    assert layout.numbers == (2, 3, 5, 7, 8, 9, 11, 12)  # markdown (1, 4, 6, 10) and raw (13) cells are not code
    cells = {cell.number: cell.source for cell in source.cells}
    for number, piece in zip(layout.numbers, layout.pieces):
        # Each cell's text as written, plus the newline that ends a cell whose last line has none.
        ending = "\n" if cells[number] and not cells[number].endswith("\n") else ""
        assert unmask(piece, source.tag)[0] == cells[number] + ending


# --- check: locations name the cell, in every format ----------------------------------------------
@pytest.fixture(scope="module")
def tutorial_report():
    return api.check_paths([TUTORIAL])


def test_text_output_names_the_cell_with_the_cells_own_lines(tutorial_report):
    text = render(tutorial_report, "text")
    headline = f"{TUTORIAL}:cell 11:1:11: PPD101 [*] {PPD101_MESSAGE}"
    assert headline in text, text
    frame = text[text.index(headline):].splitlines()
    assert frame[1:4] == ["  |", "1 | trainer = PPOTrainer(", "  |           ^^^^^^^^^^ PPD101"], frame[:5]
    # The fix preview: hunks per cell, headed with the cell, in the cell's own lines, magics restored.
    preview = "\n".join(frame[4:14])
    assert "@@ -7 +7,2 @@ cell 7" in preview and "@@ -7,2 +7,3 @@ cell 11" in preview, preview
    assert "+value_model = AutoModelForSequenceClassification.from_pretrained(REWARD, num_labels=1)" in preview
    assert "ppodoctor:" not in text and "pass  #" not in text


def test_concise_and_json_outputs(tutorial_report):
    concise = render(tutorial_report, "concise").splitlines()
    assert concise[:2] == [
        f"{TUTORIAL}:cell 7:4:13: PPD301 [*] tokenizer `tokenizer` is never given a pad token: if the saved "
        "tokenizer has none, the first batch raises `ValueError: Asking to pad but the tokenizer does not have a "
        "padding token` (trl 0.12-1.12); add one with `add_special_tokens({\"pad_token\": \"[PAD]\"})`",
        f"{TUTORIAL}:cell 11:1:11: PPD101 [*] {PPD101_MESSAGE}: TRL fails with `TypeError: "
        "PPOTrainer.__init__() missing 1 required positional argument: 'value_model'` after loading every model "
        "(trl 0.29-1.12, target 1.12.0); pass a single-logit sequence classifier as `value_model=`"]
    found = json.loads(render(tutorial_report, "json"))
    assert [(d["code"], d["cell"], d["location"], d["end_location"]) for d in found] == [
        ("PPD301", 7, {"row": 4, "column": 13}, {"row": 4, "column": 71}),
        ("PPD101", 11, {"row": 1, "column": 11}, {"row": 1, "column": 21})]
    lines = [json.loads(line) for line in render(tutorial_report, "json-lines").splitlines()]
    assert [(d["cell"], d["location"]["row"]) for d in lines] == [(7, 4), (11, 1)]
    python = json.loads(render(api.CheckReport((api.check_source(REFERENCE_IS_POLICY, "t.py"),)), "json"))
    assert python and all(d["cell"] is None for d in python)


def _raw_position(data: str, needle: str, within: str) -> tuple[int, int]:
    """The 1-based (line, column) in the file of `within`'s JSON line, at `needle`."""
    for row, line in enumerate(data.splitlines(), start=1):
        if json.dumps(within)[1:-1] in line:
            return row, line.index(needle) + 1
    raise AssertionError(f"{within!r} is not a line of the file")


def test_sarif_and_github_point_at_the_code_in_the_ipynb_file(tutorial_report):
    data = TUTORIAL.read_text(encoding="utf-8")
    line, column = _raw_position(data, "PPOTrainer", "trainer = PPOTrainer(\n")
    sarif = json.loads(render(tutorial_report, "sarif"))["runs"][0]["results"]
    ppd101 = next(r for r in sarif if r["ruleId"] == "PPD101")
    region = ppd101["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": line, "startColumn": column, "endLine": line, "endColumn": column + 10}
    assert ppd101["properties"]["cell"] == 11
    assert ppd101["properties"]["cellRegion"] == {"startLine": 1, "startColumn": 11, "endLine": 1, "endColumn": 21}
    github = [row for row in render(tutorial_report, "github").splitlines() if "PPD101" in row]
    assert github[0].startswith(f"::error file={TUTORIAL},line={line},col={column},endLine={line},"
                                f"endColumn={column + 10},title=PPD101 value-model-missing at cell 11%3A1%3A11::")


def _apply_sarif(data: str, replacements: list[dict]) -> str:
    lines = data.splitlines(keepends=True)
    for item in sorted(replacements, key=lambda r: -r["deletedRegion"]["startLine"]):
        region = item["deletedRegion"]
        lines[region["startLine"] - 1:region["endLine"] - 1] = [item["insertedContent"]["text"]]
    return "".join(lines)


def test_sarif_fix_edits_the_ipynb_json_as_fix_write_does(tmp_path, tutorial_report):
    sarif = json.loads(render(tutorial_report, "sarif"))["runs"][0]["results"]
    ppd101 = next(r for r in sarif if r["ruleId"] == "PPD101")
    change, = ppd101["fixes"][0]["artifactChanges"]
    patched = _apply_sarif(TUTORIAL.read_text(encoding="utf-8"), change["replacements"])
    copy = tmp_path / TUTORIAL.name
    shutil.copy(TUTORIAL, copy)
    done = ppodoctor("fix", "--write", "--no-probe", "--select", "PPD101", copy)
    assert done.returncode == 0, done.stderr
    assert patched == copy.read_text(encoding="utf-8")


def test_clean_colab_notebook_passes_and_a_bash_cell_is_not_python():
    done = ppodoctor("check", COLAB)
    assert done.returncode == 0 and "All checks passed!" in done.stdout, done.stdout + done.stderr


def test_noqa_in_a_cell_silences_the_finding(tmp_path):
    (tmp_path / "plain.ipynb").write_bytes(notebook(IMPORTS, MODELS, REFERENCE_IS_POLICY))
    silenced = REFERENCE_IS_POLICY.replace("value_model=value_model,", "value_model=value_model,  # noqa: PPD106")
    (tmp_path / "noqa.ipynb").write_bytes(notebook(IMPORTS, MODELS, silenced))
    done = ppodoctor("check", "--output-format", "concise", tmp_path)
    assert f"{tmp_path / 'plain.ipynb'}:cell 3:2:32: PPD106" in done.stdout, done.stdout
    assert "noqa.ipynb" not in done.stdout and done.returncode == 1


def test_other_kernels_are_not_checked(tmp_path):
    (tmp_path / "r.ipynb").write_bytes(notebook("library(trl)\nPPOTrainer(model=policy, ref_model=policy)\n",
                                                language="R"))
    done = ppodoctor("check", tmp_path / "r.ipynb")
    assert done.returncode == 0 and "All checks passed!" in done.stdout, done.stdout + done.stderr


# --- scans ----------------------------------------------------------------------------------------
def test_directory_scan_includes_notebooks_and_skips_checkpoints(tmp_path):
    shutil.copy(TUTORIAL, tmp_path / "tutorial.ipynb")
    (tmp_path / "train.py").write_text(IMPORTS + MODELS + REFERENCE_IS_POLICY)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    shutil.copy(TUTORIAL, tmp_path / ".ipynb_checkpoints" / "tutorial-checkpoint.ipynb")
    (tmp_path / "plots.ipynb").write_bytes(notebook("import matplotlib\n"))  # no trl: never parsed
    done = ppodoctor("check", "--output-format", "concise", tmp_path)
    located = sorted({line.split(": PPD")[0] for line in done.stdout.splitlines() if ": PPD" in line})
    assert located == [f"{tmp_path / 'train.py'}:7:32", f"{tmp_path / 'tutorial.ipynb'}:cell 11:1:11",
                       f"{tmp_path / 'tutorial.ipynb'}:cell 7:4:13"], done.stdout
    assert done.returncode == 1


def test_scan_with_the_process_pool_reports_the_same_cells(tmp_path):
    for index in range(24):  # more than scan.PARALLEL_THRESHOLD: checked in worker processes
        shutil.copy(TUTORIAL, tmp_path / f"nb{index:02d}.ipynb")
    serial = api.check_paths([tmp_path], jobs=1)
    pooled = api.check_paths([tmp_path], jobs=2)
    assert [(d.filename, d.cell, d.cell_span) for d in pooled.diagnostics] == \
        [(d.filename, d.cell, d.cell_span) for d in serial.diagnostics]
    assert {d.cell for d in serial.diagnostics} == {7, 11} and len(serial.diagnostics) == 48


# --- bad notebooks --------------------------------------------------------------------------------
def test_bad_notebooks_are_one_line_errors_and_the_rest_is_checked(tmp_path):
    bad = {"invalid_json.ipynb": "invalid notebook JSON: Expecting value at line 160 column 1",
           "markdown_only.ipynb": "notebook has no code cells"}
    for name in bad:
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    (tmp_path / "v3.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": [], "PPOTrainer": 1}))
    (tmp_path / "not_utf8.ipynb").write_bytes(b'{"cells": [], "x": "PPOTrainer \xff"}')
    bad.update({"v3.ipynb": "unsupported notebook format 3: only nbformat 4 is read",
                "not_utf8.ipynb": "not valid UTF-8 at byte 31: invalid start byte"})
    shutil.copy(TUTORIAL, tmp_path / "zz_good.ipynb")
    for output_format in ("text", "concise", "json"):
        done = ppodoctor("check", "--output-format", output_format, tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        if output_format == "json":
            entries = json.loads(done.stdout)
            assert {d["cell"] for d in entries if d["code"]} == {7, 11}
            assert sorted(d["filename"] for d in entries if d["code"] is None) == sorted(
                str(tmp_path / name) for name in bad)  # a file that could not be checked: a null code
            continue
        errors = [line for line in (done.stdout + done.stderr).splitlines() if ": error: " in line]
        assert sorted(errors) == sorted(f"{tmp_path / name}: error: {cause}" for name, cause in bad.items()), errors
        assert f"{tmp_path / 'zz_good.ipynb'}:cell 11:1:11: PPD101" in done.stdout


def test_decode_errors_name_the_cause():
    with pytest.raises(NotebookError, match="not a Jupyter notebook: no `cells` list"):
        decode_notebook(b'{"nbformat": 4}')
    with pytest.raises(NotebookError, match="cell 1 has no `cell_type` or no text `source`"):
        decode_notebook(b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}')
    with pytest.raises(NotebookError, match="the JSON is not an object"):
        decode_notebook(b"[1, 2]")


# --- fix ------------------------------------------------------------------------------------------
def test_fix_diff_is_per_cell_and_writes_nothing(tmp_path):
    copy = tmp_path / "nb.ipynb"
    copy.write_bytes(notebook(IMPORTS, MODELS, "!ls models\n" + REFERENCE_IS_POLICY))
    before = copy.read_bytes()
    done = ppodoctor("fix", "--no-probe", copy)  # the safe fixes: the cells are what this test is about
    assert done.returncode == 1 and copy.read_bytes() == before
    diff = done.stdout
    assert diff.startswith(f"--- {copy}:cell 1\n+++ {copy}:cell 1\n"), diff
    assert f"--- {copy}:cell 3\n+++ {copy}:cell 3\n" in diff
    assert " !ls models\n" in diff  # the magic shown as written, not masked
    assert "+from trl import create_reference_model\n" in diff
    assert "+                     ref_model=create_reference_model(policy)," in diff


def test_fix_write_changes_only_the_fixed_cells_sources_byte_for_byte(tmp_path):
    copy = tmp_path / TUTORIAL.name
    shutil.copy(TUTORIAL, copy)
    before = copy.read_bytes()
    assert nbformat_bytes(json.loads(before)) == before  # the fixture is exactly nbformat's style
    done = ppodoctor("fix", "--write", "--no-probe", "--select", "PPD101", copy)
    assert done.returncode == 0 and "Fixed 1 problem in 1 file." in done.stderr, done.stderr
    after = copy.read_bytes()
    old, new = json.loads(before), json.loads(after)
    changed = [index + 1 for index, (a, b) in enumerate(zip(old["cells"], new["cells"])) if a != b]
    assert changed == [7, 11]
    for number in changed:  # outputs, ids, execution counts and metadata untouched
        assert {k: v for k, v in old["cells"][number - 1].items() if k != "source"} == \
            {k: v for k, v in new["cells"][number - 1].items() if k != "source"}
    assert nbformat_bytes(new) == after  # every other byte is where nbformat puts it
    models = new["cells"][6]["source"]
    assert models[0] == "%%capture\n" and models[-2:] == [
        'reward_model = AutoModelForSequenceClassification.from_pretrained(REWARD, num_labels=1)\n',
        'value_model = AutoModelForSequenceClassification.from_pretrained(REWARD, num_labels=1)']
    assert "    value_model=value_model,\n" in new["cells"][10]["source"]
    assert new["cells"][10]["outputs"][0]["ename"] == "TypeError"


def test_fix_write_in_colab_style_and_string_sources_with_crlf(tmp_path):
    colab = tmp_path / "colab.ipynb"
    colab_doc = json.loads(COLAB.read_text(encoding="utf-8"))
    colab_doc["cells"][4]["source"] = [line.replace("ref_model=ref_policy", "ref_model=policy")
                                       for line in colab_doc["cells"][4]["source"]]
    colab.write_text(json.dumps(colab_doc, indent=2, ensure_ascii=False), encoding="utf-8")
    strings = tmp_path / "strings.ipynb"
    shutil.copy(STRINGS, strings)
    raw = STRINGS.read_bytes()
    assert raw == (json.dumps(json.loads(raw), indent=2, ensure_ascii=True) + "\n").replace("\n", "\r\n").encode()
    done = ppodoctor("fix", "--write", "--no-probe", "--select", "PPD106", "--trl-version", "0.12.2",
                     colab, strings)
    assert done.returncode == 0 and "Fixed 2 problems in 2 files." in done.stderr, done.stderr
    new_colab = json.loads(colab.read_text(encoding="utf-8"))
    assert colab.read_text(encoding="utf-8") == json.dumps(new_colab, indent=2, ensure_ascii=False)
    assert [c for c, (a, b) in enumerate(zip(colab_doc["cells"], new_colab["cells"])) if a != b] == [2, 4]
    assert new_colab["cells"][2]["source"][-1] == "from trl import create_reference_model\n"
    after = strings.read_bytes()
    new = json.loads(after)
    assert after == (json.dumps(new, indent=2, ensure_ascii=True) + "\n").replace("\n", "\r\n").encode()
    old = json.loads(raw)
    assert [c for c, (a, b) in enumerate(zip(old["cells"], new["cells"])) if a != b] == [1, 3]
    assert new["cells"][1]["source"] == ("%pip install trl==0.12.2\nfrom transformers import AutoModelForCausalLM, "
                                         "AutoModelForSequenceClassification, AutoTokenizer\n"
                                         "from trl import PPOConfig, PPOTrainer, create_reference_model\n")
    assert "ref_policy=create_reference_model(model)," in new["cells"][3]["source"]
    assert new["cells"][3]["source"].endswith('print("prêt")')


def test_new_imports_go_into_the_cell_that_holds_the_imports(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook("%pip install trl\n", ("markdown", "# Setup"), IMPORTS + "import torch\n",
                              MODELS, REFERENCE_IS_POLICY))
    fixed = api.fix_source(path.read_bytes(), str(path))
    after = sources(fixed.new_bytes)
    assert after[0] == "%pip install trl\n" and after[3] == MODELS
    assert after[2] == IMPORTS + "import torch\nfrom trl import create_reference_model\n"
    assert "ref_model=create_reference_model(policy)," in after[4]


def test_a_fix_in_a_cell_with_crlf_sources_keeps_its_line_endings(tmp_path):
    crlf = [text.replace("\n", "\r\n") for text in (IMPORTS, MODELS, REFERENCE_IS_POLICY)]
    fixed = api.fix_source(notebook(*crlf), "nb.ipynb")
    after = sources(fixed.new_bytes)
    assert after[0].endswith("from trl import create_reference_model\r\n")
    assert "\n" not in after[0].replace("\r\n", "")


def test_insertions_never_cross_a_cell_boundary():
    from ppodoctor.fixes.source import SourceMap

    source = decode_notebook(notebook("x = 1\n# a comment closing cell 1\n", "# cell 2's comment\ny = 2\n"))
    text = source.text
    source_map = SourceMap(text, "\n")
    statement = source_map.module.body[1]  # `y = 2`, the first statement of cell 2
    edit = source_map.insert_before(statement, "z = 0")
    fixed = text[:edit.start] + edit.text + text[edit.end:]
    assert sources(source.encode_text(fixed)) == ["x = 1\n# a comment closing cell 1\n",
                                                  "z = 0\n# cell 2's comment\ny = 2\n"]


def test_a_text_that_breaks_the_cells_or_a_magic_is_not_written():
    source = decode_notebook(notebook("!pip install trl\nx = 1\n", "y = 2\n"))
    marker = source.text.splitlines(True)[3]
    with pytest.raises(NotebookError, match="does not keep to the notebook's cells"):
        source.encode_text(source.text.replace(marker, ""))
    with pytest.raises(NotebookError, match="changed an IPython line in cell 1"):
        source.encode_text(source.text.replace("pass  # ppodoctor:magic !pip install trl\n", ""))
    assert source.encode_text(source.text) == source.raw


def test_a_fix_that_cannot_be_put_back_is_an_error_not_a_write(tmp_path, monkeypatch):
    from ppodoctor.notebook import NotebookSource

    def refuse(self, text):
        raise NotebookError("the fixed code does not keep to the notebook's cells; not written")

    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook(IMPORTS, MODELS, REFERENCE_IS_POLICY))
    monkeypatch.setattr(NotebookSource, "encode_text", refuse)
    fixed = api.fix_source(path.read_bytes(), str(path))
    assert fixed.error == "the fixed code does not keep to the notebook's cells; not written"


def test_text_handed_over_as_str_is_read_as_the_notebooks_json():
    report = api.check_source(notebook(IMPORTS, MODELS, REFERENCE_IS_POLICY).decode(), "nb.ipynb")
    assert [(d.code, d.cell, d.cell_span.line) for d in report.diagnostics] == [("PPD106", 3, 2)]
    assert files.decode_source(b"x = 1\n", "x.py").text == "x = 1\n"


def test_checking_python_files_does_not_import_the_notebook_modules(tmp_path):
    from test_files_scan import imported_by

    script = tmp_path / "train.py"
    script.write_text(IMPORTS + MODELS + REFERENCE_IS_POLICY)
    modules = {"ppodoctor.notebook", "ppodoctor.notebook_json", "ppodoctor.magics"}
    assert not modules & imported_by(str(script))
    assert modules <= imported_by(str(TUTORIAL))


def test_a_syntax_error_names_its_cell(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook("%pip install trl\n", IMPORTS, "x = 1\ndef broken(:\n    pass\n"))
    done = ppodoctor("check", path)
    assert done.returncode == 2
    assert f"{path}: error: syntax error at cell 3:2:12: invalid syntax" in done.stdout + done.stderr


def test_cells_whose_code_contains_the_marker_words_keep_their_own_lines(tmp_path):
    tricky = "# ppodoctor:cell 1\n # ppodoctor:cell 2\nnote = 'pass  # ppodoctor:magic x'\n"
    data = notebook(tricky, IMPORTS, MODELS, REFERENCE_IS_POLICY)
    source = decode_notebook(data)
    assert source.tag == "ppodoctor_"
    fixed = api.fix_source(data, "nb.ipynb")
    after = sources(fixed.new_bytes)
    assert after[0] == tricky and after[2] == MODELS and "create_reference_model(policy)" in after[3]
    assert [(d.cell, d.cell_span.line) for d in api.check_source(data, "nb.ipynb").diagnostics] == [(4, 2)]


def test_crlf_json_with_list_sources_keeps_its_layout():
    data = notebook(IMPORTS, MODELS, REFERENCE_IS_POLICY).replace(b"\n", b"\r\n")
    assert b"\r\n" in data and b"\\r\\n" not in data  # the file's lines end in CRLF, the code's in \n
    fixed = api.fix_source(data, "nb.ipynb")
    new = json.loads(fixed.new_bytes)
    assert fixed.new_bytes == nbformat_bytes(new).replace(b"\n", b"\r\n")
    assert sources(fixed.new_bytes)[0].endswith("from trl import create_reference_model\n")


def test_a_bom_is_kept():
    data = b"\xef\xbb\xbf" + notebook(IMPORTS, MODELS, REFERENCE_IS_POLICY)
    fixed = api.fix_source(data, "nb.ipynb")
    assert fixed.new_bytes.startswith(b"\xef\xbb\xbf") and fixed.new_bytes[3:] == nbformat_bytes(
        json.loads(fixed.new_bytes[3:]))


def test_stdin_with_a_notebook_filename(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise",
                           "--stdin-filename", "nb.ipynb", "-"], input=TUTORIAL.read_text(encoding="utf-8"),
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "nb.ipynb:cell 11:1:11: PPD101" in done.stdout, done.stdout + done.stderr


def test_a_class_imported_only_in_a_later_cell_is_imported_where_the_fix_needs_it(tmp_path):
    """The reward model is a causal LM in cell 1; the classifier class is imported in cell 2. The fix
    imports it in cell 1 too (the same import, so nothing else changes meaning); a name bound later to
    something else still declines the fix."""
    from ppodoctor.pipeline.fix import fix_source
    from ppodoctor.trl_api.eras import Target

    first = ('from transformers import AutoModelForCausalLM, AutoTokenizer\n'
             'from trl.experimental.ppo import PPOConfig, PPOTrainer\n'
             'tok = AutoTokenizer.from_pretrained("sft")\ntok.add_special_tokens({"pad_token": "[PAD]"})\n'
             'policy = AutoModelForCausalLM.from_pretrained("sft")\nref = AutoModelForCausalLM.from_pretrained("sft")\n'
             'rm = AutoModelForCausalLM.from_pretrained("rm")\n')
    second = ('from transformers import AutoModelForSequenceClassification\n'
              'critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)\n')
    third = ('trainer = PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=policy, ref_model=ref,'
             ' reward_model=rm, value_model=critic, train_dataset=None)\n')
    target = Target.of("1.12.0", transformers="5.24.0")

    def fixed(cells):
        data = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                                      "source": cell.splitlines(True)} for cell in cells],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        return fix_source(data, str(tmp_path / "nb.ipynb"), target=target, unsafe=True)

    result = fixed([first, second, third])
    assert [d.code for d in result.applied] == ["PPD104"]
    cells = json.loads(files.encode(result.original, result.text))["cells"]
    assert "".join(cells[0]["source"]).startswith(
        "from transformers import AutoModelForCausalLM, AutoTokenizer, AutoModelForSequenceClassification\n")
    assert 'rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)' in "".join(cells[0]["source"])
    other = fixed([first, second.replace("from transformers import AutoModelForSequenceClassification",
                                         "from mylib import AutoModelForSequenceClassification"), third])
    assert not other.applied and "already means something else" in other.skipped[0].reason

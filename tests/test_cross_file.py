"""The script's own modules (setup/project.py): a model built by a function of a sibling module, a
package (absolute or relative import), a `src/` layout, `import models` then `models.build(...)`, is
followed as local code; installed packages are not; a cycle and the bounds stay safe; a finding
whose cause is in the other file points there in every format; a fix there is made there: previewed
in the diff, written with the script (both or neither), offered by the server as an edit of that file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppodoctor import api
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths
from ppodoctor.report import render
from ppodoctor.setup import project
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import ERROR

TARGET = Target.of("1.12.0", transformers="5.24.0")

MODELS = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer


def build(path, rm_path):
    tok = AutoTokenizer.from_pretrained(path)
    tok.add_special_tokens({"pad_token": "[PAD]"})
    policy = AutoModelForCausalLM.from_pretrained(path)
    ref = AutoModelForCausalLM.from_pretrained(path)
    rm = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1)
    critic = AutoModelForCausalLM.from_pretrained(path)  # wrong: PPD103
    return tok, policy, ref, rm, critic
'''
CRITIC_LINE = 10  # the `critic = ...` line of MODELS
GOOD_MODELS = MODELS.replace("critic = AutoModelForCausalLM.from_pretrained(path)  # wrong: PPD103",
                             "critic = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1)")


def train(imports: str = "from models import build", call: str = "build") -> str:
    return (f"from trl.experimental.ppo import PPOConfig, PPOTrainer\n{imports}\n\n"
            f"tok, policy, ref, rm, critic = {call}(\"sft\", \"rm\")\n"
            "trainer = PPOTrainer(args=PPOConfig(output_dir=\"out\"), processing_class=tok, model=policy,\n"
            "                     ref_model=ref, reward_model=rm, value_model=critic, train_dataset=None)\n")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check(path: Path):
    return api.check_file(path, Settings(), TARGET)


def codes(report) -> list[str]:
    assert report.error is None, report.error
    return [d.code for d in report.diagnostics]


def value_origin(report):
    return report.setup.setups[0].origin("value")


def test_a_sibling_module_is_followed(tmp_path):
    write(tmp_path, {"models.py": MODELS, "train.py": train()})
    report = check(tmp_path / "train.py")
    assert codes(report) == ["PPD103"]
    origin = value_origin(report)
    assert origin.class_name == "transformers.AutoModelForCausalLM" and origin.path.value == "sft"
    assert origin.span.file == str(tmp_path / "models.py") and origin.span.line == CRITIC_LINE
    # The reward model's num_labels and the tokenizer's pad token, done inside build(), are seen too.
    reward = report.setup.setups[0].origin("reward")
    assert reward.keyword("num_labels").value.value == 1 and reward.path.value == "rm"
    assert [op.name for op in report.setup.setups[0].origin("processing_class").operations] == \
        ["add_special_tokens"]


def test_the_setup_model_round_trips_with_the_other_files_spans(tmp_path):
    from ppodoctor.setup import model

    write(tmp_path, {"models.py": MODELS, "train.py": train()})
    setup = check(tmp_path / "train.py").setup
    assert value_origin(check(tmp_path / "train.py")).span.file
    assert model.loads(model.dumps(setup)) == setup


def test_before_following_the_same_script_had_no_finding(tmp_path):
    """The test above can fail: without the sibling file the import stays unknown and nothing fires."""
    write(tmp_path, {"train.py": train()})
    report = check(tmp_path / "train.py")
    assert codes(report) == []
    assert value_origin(report).reason == "element of the result of `models.build` cannot be followed"


def test_a_correct_helper_module_gives_no_error(tmp_path):
    write(tmp_path, {"models.py": GOOD_MODELS, "train.py": train()})
    report = check(tmp_path / "train.py")
    assert [d for d in report.diagnostics if d.severity == ERROR] == []
    assert codes(report) == []
    assert value_origin(report).class_name == "transformers.AutoModelForSequenceClassification"


def test_a_star_import_of_the_module(tmp_path):
    write(tmp_path, {"models.py": MODELS, "train.py": train("from models import *")})
    assert codes(check(tmp_path / "train.py")) == ["PPD103"]


def test_import_module_then_attribute(tmp_path):
    write(tmp_path, {"models.py": MODELS, "train.py": train("import models", "models.build")})
    assert codes(check(tmp_path / "train.py")) == ["PPD103"]


@pytest.mark.parametrize("imports, call", [
    ("from pkg.models import build", "build"),
    ("from pkg import build", "build"),  # re-exported by pkg/__init__.py (a relative import)
    ("from pkg import models", "models.build"),
    ("import pkg.models", "pkg.models.build"),
])
def test_a_package_under_the_project_root(tmp_path, imports, call):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "pkg/__init__.py": "from .models import build\n",
                     "pkg/models.py": MODELS, "scripts/train.py": train(imports, call)})
    report = check(tmp_path / "scripts" / "train.py")
    assert codes(report) == ["PPD103"]
    assert value_origin(report).span.file == str(tmp_path / "pkg" / "models.py")


def test_a_relative_import_inside_a_package(tmp_path):
    write(tmp_path, {"setup.py": "", "app/__init__.py": "", "app/models.py": MODELS,
                     "app/train.py": train("from .models import build")})
    assert codes(check(tmp_path / "app" / "train.py")) == ["PPD103"]


def test_a_src_layout(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "src/mypkg/__init__.py": "", "src/mypkg/models.py": MODELS,
                     "train.py": train("from mypkg.models import build")})
    assert codes(check(tmp_path / "train.py")) == ["PPD103"]


def test_a_module_outside_the_project_root_is_not_followed(tmp_path):
    """Only files under the root: an installed package (here a folder beside the project) stays an import."""
    write(tmp_path, {"site/models.py": MODELS, "proj/.git/HEAD": "", "proj/train.py": train()})
    assert codes(check(tmp_path / "proj" / "train.py")) == []


def test_the_libraries_the_rules_read_are_never_followed(tmp_path):
    """A copy of transformers under the root (TRL's own repository holds `trl/`) stays the library."""
    write(tmp_path, {"transformers/__init__.py": "AutoModelForCausalLM = object\n", "models.py": GOOD_MODELS,
                     "train.py": train()})
    report = check(tmp_path / "train.py")
    assert value_origin(report).class_name == "transformers.AutoModelForSequenceClassification"
    assert report.setup.setups[0].trainer_qualname == "trl.experimental.ppo.PPOTrainer"


def test_a_copy_of_trl_under_the_root_stays_trl(tmp_path):
    """TRL's own examples import trl from the repository they sit in: the trainer must stay TRL's."""
    write(tmp_path, {".git/HEAD": "", "trl/__init__.py": "from .experimental.ppo import PPOConfig, PPOTrainer\n",
                     "trl/experimental/__init__.py": "", "trl/experimental/ppo/__init__.py":
                     "class PPOConfig:\n    pass\n\n\nclass PPOTrainer:\n    pass\n",
                     "models.py": MODELS, "examples/train.py": train()})
    (tmp_path / "examples" / "models.py").write_text(MODELS)
    report = check(tmp_path / "examples" / "train.py")
    assert report.setup.setups[0].trainer_qualname == "trl.experimental.ppo.PPOTrainer"
    assert codes(report) == ["PPD103"]


CLASS_MODULE = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

SFT = "sft"


class Bundle:
    def __init__(self, path=SFT):
        self.tok = AutoTokenizer.from_pretrained(path)
        self.tok.pad_token = self.tok.eos_token
        self.policy = AutoModelForCausalLM.from_pretrained(path)
        self.critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)


def registry(path=SFT):
    return {"policy": AutoModelForCausalLM.from_pretrained(path),
            "value": AutoModelForSequenceClassification.from_pretrained("rm", num_labels=2)}
'''


def test_a_class_of_the_module_and_its_constants(tmp_path):
    script = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\nfrom models import Bundle\nb = Bundle()\n"
              "trainer = PPOTrainer(args=PPOConfig(output_dir='o'), processing_class=b.tok, model=b.policy,\n"
              "                     ref_model=None, reward_model=b.critic, value_model=b.critic, train_dataset=None)\n")
    write(tmp_path, {"models.py": CLASS_MODULE, "train.py": script})
    report = check(tmp_path / "train.py")
    assert report.setup.setups[0].origin("policy").path.value == "sft"  # the default, a constant of models.py
    (pad,) = [d for d in report.diagnostics if d.code == "PPD302"]  # `pad_token = eos_token` in Bundle
    assert pad.related[0].span.line == 9 and pad.related[0].span.file.endswith("models.py")


def test_a_registry_function_and_its_fix_written_there(tmp_path):
    script = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\nimport models\nm = models.registry()\n"
              "trainer = PPOTrainer(args=PPOConfig(output_dir='o'), processing_class=tok, model=m['policy'],\n"
              "                     ref_model=None, reward_model=rm, value_model=m['value'], train_dataset=None)\n")
    write(tmp_path, {"models.py": CLASS_MODULE, "train.py": script})
    report = check(tmp_path / "train.py")
    (labels,) = [d for d in report.diagnostics if d.code == "PPD105"]
    assert labels.span.line == 5 and labels.related[0].span.line == 16
    result = fix_paths([tmp_path / "train.py"], Settings(), TARGET, write=True, probe=False).files[0]
    assert [d.code for d in result.applied] == ["PPD105"] and not result.skipped and result.written
    assert (tmp_path / "models.py").read_text() == CLASS_MODULE.replace("num_labels=2", "num_labels=1")
    assert (tmp_path / "train.py").read_text() == script  # the cause is not in the script: it is left alone
    assert "PPD105" not in codes(check(tmp_path / "train.py"))


def test_a_module_importing_the_script_back(tmp_path):
    models = "from train import trainer\nfrom helpers import build\n"
    helpers = MODELS + "from models import build as again\n"
    write(tmp_path, {"models.py": models, "helpers.py": helpers, "train.py": train()})
    assert codes(check(tmp_path / "train.py")) == ["PPD103"]


def test_a_name_bound_to_itself_across_modules_is_unknown(tmp_path):
    write(tmp_path, {"a.py": "from b import build\n", "b.py": "from a import build\n",
                     "train.py": train("from a import build")})
    report = check(tmp_path / "train.py")
    assert codes(report) == [] and not value_origin(report).known


def test_a_too_large_module_is_unknown_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(project, "MAX_BYTES", 100)
    write(tmp_path, {"models.py": MODELS, "train.py": train()})
    report = check(tmp_path / "train.py")
    assert codes(report) == []
    assert "not followed: `models.py` is larger than" in value_origin(report).reason


def test_each_module_is_parsed_once_per_run(tmp_path, monkeypatch):
    write(tmp_path, {"models.py": MODELS, "a.py": train(), "b.py": train("import models", "models.build")})
    project._CACHE.clear()
    parsed = []
    real = project.collect
    monkeypatch.setattr(project, "collect", lambda module: parsed.append(1) or real(module))
    report = api.check_paths([tmp_path], Settings(), TARGET)
    assert sorted(Path(f.path).name for f in report.files if f.diagnostics) == ["a.py", "b.py"]
    assert len(parsed) == 1


# --- where the cause is: text, SARIF, JSON -----------------------------------------------------------

def _sibling_report(tmp_path):
    write(tmp_path, {"helper/models.py": MODELS, "helper/train.py": train()})
    return api.check_paths([tmp_path / "helper" / "train.py"], Settings(), TARGET)


def test_the_finding_points_at_both_places(tmp_path):
    report = _sibling_report(tmp_path)
    (diagnostic,) = report.diagnostics
    assert (diagnostic.span.line, diagnostic.span.file) == (6, "")  # the trainer's `value_model=critic`
    (related,) = diagnostic.related
    assert related.span.file == str(tmp_path / "helper" / "models.py") and related.span.line == CRITIC_LINE
    assert "AutoModelForCausalLM.from_pretrained(path)" in related.message


def test_text_names_the_other_file(tmp_path):
    text = render(_sibling_report(tmp_path), "text")
    models = tmp_path / "helper" / "models.py"
    assert f"= cause: {models}:{CRITIC_LINE}:14: `critic` is made here" in text


def test_json_carries_the_related_location(tmp_path):
    (entry,) = json.loads(render(_sibling_report(tmp_path), "json"))
    assert entry["location"]["row"] == 6
    assert entry["related"] == [{"filename": str(tmp_path / "helper" / "models.py"),
                                 "location": {"row": CRITIC_LINE, "column": 14},
                                 "end_location": {"row": CRITIC_LINE, "column": 56},
                                 "message": "`critic` is made here: `AutoModelForCausalLM.from_pretrained(path)`"}]


def test_sarif_has_related_locations(tmp_path):
    from test_report_sarif import sarif

    (result,) = sarif(_sibling_report(tmp_path))["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("helper/models.py")
    assert related["physicalLocation"]["region"]["startLine"] == CRITIC_LINE
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6


def test_a_rule_reporting_at_the_cause_is_placed_in_the_script(tmp_path):
    """PPD301 reports at the tokenizer's creation: in models.py, so the finding sits on the trainer's
    `processing_class=tok` and points at models.py; a `# noqa` there silences it."""
    models = MODELS.replace('    tok.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    write(tmp_path, {"models.py": models, "train.py": train()})
    report = check(tmp_path / "train.py")
    pad = next(d for d in report.diagnostics if d.code == "PPD301")
    assert (pad.span.line, pad.span.column, pad.span.file) == (5, 73, "")
    assert pad.related[0].span.file.endswith("models.py") and pad.related[0].span.line == 5
    assert 5 in pad.noqa_lines and pad.related[0].span.line  # not the other file's line number alone
    silenced = train().replace("model=policy,\n", "model=policy,  # noqa: PPD301\n")
    (tmp_path / "train.py").write_text(silenced)
    assert "PPD301" not in codes(check(tmp_path / "train.py"))


def test_many_files_checked_in_worker_processes_keep_the_other_file(tmp_path):
    """Over the scan's threshold the checks run in worker processes: the findings and their other file
    come back the same."""
    write(tmp_path, {"models.py": MODELS, **{f"train_{i:02}.py": train() for i in range(24)}})
    report = api.check_paths([tmp_path], Settings(), TARGET, jobs=2)
    found = [d for d in report.diagnostics if d.code == "PPD103"]
    assert len(found) == 24
    assert {d.related[0].span.file for d in found} == {str(tmp_path / "models.py")}


def _notebook() -> dict:
    cells = [train().split("\n\n")[0] + "\n", train().split("\n\n")[1]]
    return {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": cell.splitlines(True)} for cell in cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_a_notebook_follows_the_modules_of_its_folder(tmp_path):
    notebook = _notebook()
    write(tmp_path, {"models.py": MODELS, "nb.ipynb": json.dumps(notebook)})
    report = check(tmp_path / "nb.ipynb")
    (diagnostic,) = report.diagnostics
    assert diagnostic.code == "PPD103" and diagnostic.cell == 2 and diagnostic.cell_span.line == 3
    assert diagnostic.related[0].span.line == CRITIC_LINE
    assert "= cause: " in render(api.check_paths([tmp_path / "nb.ipynb"], Settings(), TARGET), "text")


# --- fixes ---------------------------------------------------------------------------------------------

def _unpadded(tmp_path):
    models = MODELS.replace('    tok.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    write(tmp_path, {"models.py": models, "train.py": train()})
    return models


def test_a_fix_in_the_other_file_is_written_there(tmp_path):
    models = _unpadded(tmp_path)
    before = (tmp_path / "train.py").read_bytes()
    result = fix_paths([tmp_path / "train.py"], Settings(), TARGET, unsafe=True, write=True, probe=False).files[0]
    assert sorted(d.code for d in result.applied) == ["PPD103", "PPD301"] and result.written
    # PPD301's cause (a tokenizer without a pad token) is in models.py: the token is added right there.
    assert (tmp_path / "models.py").read_text() == models.replace(
        "    tok = AutoTokenizer.from_pretrained(path)\n",
        "    tok = AutoTokenizer.from_pretrained(path)\n    tok.add_special_tokens({\"pad_token\": \"[PAD]\"})\n")
    # PPD103's fix builds a new value model in the script itself, from the reward model's path.
    text = (tmp_path / "train.py").read_text()
    assert text != before.decode() and "value_model=critic_model" in text
    assert codes(check(tmp_path / "train.py")) == []


def test_the_preview_shows_both_files_and_writes_neither(tmp_path):
    models = _unpadded(tmp_path)
    report = fix_paths([tmp_path / "train.py"], Settings(), TARGET, unsafe=True, write=False, probe=False)
    diff = report.files[0].diff()
    assert f"--- {tmp_path / 'train.py'}" in diff and f"+++ {tmp_path / 'models.py'}" in diff
    assert '+    tok.add_special_tokens({"pad_token": "[PAD]"})' in diff
    assert (tmp_path / "models.py").read_text() == models and report.exit_code == 1
    safe_only = fix_paths([tmp_path / "train.py"], Settings(), TARGET, write=False, probe=False).files[0]
    assert "models.py" not in safe_only.diff()  # PPD301's fix is unsafe: not without --unsafe-fixes


def test_a_notebook_fix_is_written_in_the_module_its_cell_imports(tmp_path):
    models = MODELS.replace('    tok.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    write(tmp_path, {"models.py": models, "nb.ipynb": json.dumps(_notebook())})
    result = fix_paths([tmp_path / "nb.ipynb"], Settings(), TARGET, unsafe=True, write=True, probe=False).files[0]
    assert sorted(d.code for d in result.applied) == ["PPD103", "PPD301"] and result.written
    assert 'tok.add_special_tokens({"pad_token": "[PAD]"})' in (tmp_path / "models.py").read_text()
    cells = json.loads((tmp_path / "nb.ipynb").read_text())["cells"]
    assert "value_model=critic_model" in "".join(cells[1]["source"])  # the notebook stays a notebook
    assert codes(check(tmp_path / "nb.ipynb")) == []


def test_a_failed_write_takes_the_other_file_back(tmp_path, monkeypatch):
    from ppodoctor import files

    models = _unpadded(tmp_path)
    script = (tmp_path / "train.py").read_text()
    real = files.write_atomic

    def failing(path, data, expected=None):
        if Path(path).name == "train.py":
            raise OSError(28, "No space left on device")
        return real(path, data, expected)

    monkeypatch.setattr(files, "write_atomic", failing)
    result = fix_paths([tmp_path / "train.py"], Settings(), TARGET, unsafe=True, write=True, probe=False).files[0]
    assert not result.written and "No space left on device" in result.error
    assert (tmp_path / "models.py").read_text() == models  # written, then taken back
    assert (tmp_path / "train.py").read_text() == script


def test_a_module_changed_since_it_was_read_is_not_overwritten(tmp_path, monkeypatch):
    from ppodoctor.pipeline import fix

    _unpadded(tmp_path)
    real = fix.fix_source

    def edited_meanwhile(*args, **kwargs):
        found = real(*args, **kwargs)
        (tmp_path / "models.py").write_text("# the user's edit\n")
        return found

    monkeypatch.setattr(fix, "fix_source", edited_meanwhile)
    script = (tmp_path / "train.py").read_text()
    result = fix_paths([tmp_path / "train.py"], Settings(), TARGET, unsafe=True, write=True, probe=False).files[0]
    assert not result.written and "models.py" in result.error
    assert (tmp_path / "models.py").read_text() == "# the user's edit\n"
    assert (tmp_path / "train.py").read_text() == script  # the script's half of the fix is not written alone


# --- the editor server -----------------------------------------------------------------------------------

def test_the_server_shows_the_other_file_and_offers_the_edit_there(tmp_path):
    pytest.importorskip("lsprotocol")
    from ppodoctor.server import actions
    from ppodoctor.server.lint import lint
    from ppodoctor.server.options import ServerOptions, file_context

    models = MODELS.replace('    tok.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    write(tmp_path, {"models.py": models, "train.py": train()})
    path = tmp_path / "train.py"
    options = ServerOptions(unsafe_fixes=True)  # PPD301's fix is unsafe: offered only with the setting
    linted = lint(path.as_uri(), 1, path.read_text(), path, file_context(path, options), options, "utf-16")
    by_code = {str(finding.lsp.code): finding.lsp for finding in linted.findings}
    assert sorted(by_code) == ["PPD103", "PPD301"]
    (related,) = by_code["PPD103"].related_information
    assert related.location.uri == (tmp_path / "models.py").as_uri()
    critic = next(n for n, line in enumerate(models.splitlines()) if line.lstrip().startswith("critic ="))
    assert (related.location.range.start.line, related.location.range.start.character) == (critic, 13)
    assert by_code["PPD301"].range.start.line == 4  # in the script, not at models.py's line
    titles = {code: [action.title for action in actions.code_actions(linted, lsp.range, None, options, "utf-16",
                                                                      False) or ()]
              for code, lsp in by_code.items()}
    assert any("single-logit" in title for title in titles["PPD103"])  # its edit is in the script: offered
    (pad_action,) = [action for action in actions.code_actions(linted, by_code["PPD301"].range, ["quickfix"],
                                                                options, "utf-16", False)
                     if "PAD" in action.title]
    assert pad_action.title.endswith("in models.py (unsafe)")
    ((uri, (edit,)),) = pad_action.edit.changes.items()  # one edit, in models.py, none in the script
    assert uri == (tmp_path / "models.py").as_uri()
    assert (edit.range.start.line, edit.range.start.character) == (5, 0)
    assert edit.new_text == '    tok.add_special_tokens({"pad_token": "[PAD]"})\n'
    everything = actions.fix_all(linted, options, actions.Lines(linted.text, "utf-16"), True)
    assert {change.text_document.uri for change in everything.edit.document_changes} == {
        path.as_uri(), (tmp_path / "models.py").as_uri()}


# --- a PPOTrainer subclass defined in a project module -------------------------------------------
TRAINER_MODULE = '''\
from trl.experimental.ppo import PPOTrainer


class LoggingPPOTrainer(PPOTrainer):
    def __init__(self, *args, log_every=10, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_every = log_every
'''
SUBCLASS_SCRIPT = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig
from mytrainer import LoggingPPOTrainer

tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = LoggingPPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tok, model=policy, ref_model=ref,
                            reward_model=rm, train_dataset=None, log_every=5)
'''


def test_a_forwarding_subclass_from_a_project_module_is_a_ppotrainer_call(tmp_path):
    write(tmp_path, {"mytrainer.py": TRAINER_MODULE, "train.py": SUBCLASS_SCRIPT})
    report = check(tmp_path / "train.py")
    assert codes(report) == ["PPD101"]  # no value model reaches PPOTrainer; `log_every` is the subclass's own
    fixed = fix_paths([tmp_path / "train.py"], Settings(), TARGET, write=True, probe=False).files[0]
    assert fixed.written and "log_every=5, value_model=value_model)" in (tmp_path / "train.py").read_text()
    assert codes(check(tmp_path / "train.py")) == []


def test_a_project_subclass_that_supplies_the_value_model_or_cannot_be_read_is_silent(tmp_path):
    supplies = TRAINER_MODULE.replace(
        "super().__init__(*args, **kwargs)",
        "super().__init__(*args, value_model=AutoModelForSequenceClassification.from_pretrained('rm', num_labels=1), "
        "**kwargs)").replace("from trl", "from transformers import AutoModelForSequenceClassification\nfrom trl")
    write(tmp_path / "a", {"mytrainer.py": supplies, "train.py": SUBCLASS_SCRIPT})
    assert codes(check(tmp_path / "a" / "train.py")) == []
    # Its own signature, not handed on as it came: what PPOTrainer receives cannot be told.
    own = TRAINER_MODULE.replace("super().__init__(*args, **kwargs)", "super().__init__(*args, **prepare(kwargs))")
    write(tmp_path / "b", {"mytrainer.py": own, "train.py": SUBCLASS_SCRIPT})
    assert [c for c in codes(check(tmp_path / "b" / "train.py")) if c in ("PPD101", "PPD201", "PPD108")] == []

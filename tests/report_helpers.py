"""Shared inputs for the report tests: real check runs, plus hand-made findings with a text-edit fix."""

from __future__ import annotations

from ppodoctor import api, files
from ppodoctor.rules.base import ERROR, SAFE, WARNING, Diagnostic, Fix
from ppodoctor.setup.model import Span

BROKEN = '''\
from trl.experimental.ppo import PPOConfig, PPOTrainer

trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tokenizer, model=policy,
                     ref_model=policy, reward_model=reward_model, train_dataset=dataset)
'''
RENAME_SOURCE = 'config = PPOConfig(ppo_epochs=4, log_with="wandb")\n'


def checked(source: str = BROKEN, filename: str = "train.py") -> api.CheckReport:
    return api.CheckReport((api.check_source(source, filename),))


def rename_report(severity: str = ERROR) -> api.CheckReport:
    """A finding whose fix is a plain text edit (the "replace" kind of the fix contract)."""
    edits = ((1, 20, 1, 30, "num_ppo_epochs"), (1, 34, 1, 42, "report_to"))
    diagnostic = Diagnostic(
        "PPD205", "old-config-fields", severity, "old-era PPOConfig fields `ppo_epochs`, `log_with`",
        Span(1, 20, 1, 30), filename="cfg.py",
        fix=Fix("replace", "Rename to `num_ppo_epochs` and `report_to`", SAFE, (("edits", edits),)))
    source = files.decode(RENAME_SOURCE.encode())
    return api.CheckReport((api.FileReport("cfg.py", (diagnostic,), source=source),))


def warning_report() -> api.CheckReport:
    diagnostic = Diagnostic("PPD302", "pad-token-is-eos", WARNING, "pad token set to eos, with a comma: yes",
                            Span(2, 1, 2, 10), filename="dir/a file,x.py")
    source = files.decode(b"x = 1\ntok.pad_token = tok.eos_token\n")
    return api.CheckReport((api.FileReport("dir/a file,x.py", (diagnostic,), source=source),))


def error_report() -> api.CheckReport:
    """A file that could not be checked beside one that could."""
    return api.CheckReport((api.FileReport("bad.py", error="syntax error at 1:5: unexpected token"),)
                           + checked().files)

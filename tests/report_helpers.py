"""Shared inputs for the report tests: real check runs, plus hand-made findings with a text-edit fix."""

from __future__ import annotations

from ppodoctor import api, files
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import WARNING, Diagnostic, Span

BROKEN = '''\
from trl.experimental.ppo import PPOConfig, PPOTrainer

trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tokenizer, model=policy,
                     ref_model=policy, reward_model=reward_model, train_dataset=dataset)
'''
RENAME_SOURCE = '''\
from trl.experimental.ppo import PPOConfig, PPOTrainer
config = PPOConfig(ppo_epochs=4, log_with="wandb")
trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=ds)
'''


def checked(source: str = BROKEN, filename: str = "train.py") -> api.CheckReport:
    return api.CheckReport((api.check_source(source, filename),))


def rename_report() -> api.CheckReport:
    """Two real PPD205 findings whose fixes are keyword renames on one line (trl 1.12)."""
    return api.CheckReport((api.check_source(RENAME_SOURCE, "cfg.py", target=Target.of("1.12.0")),))


def warning_report() -> api.CheckReport:
    diagnostic = Diagnostic("PPD302", "pad-token-is-eos", WARNING, "pad token set to eos, with a comma: yes",
                            Span(2, 1, 2, 10), filename="dir/a file,x.py")
    source = files.decode(b"x = 1\ntok.pad_token = tok.eos_token\n")
    return api.CheckReport((api.FileReport("dir/a file,x.py", (diagnostic,), source=source),))


def error_report() -> api.CheckReport:
    """A file that could not be checked beside one that could."""
    return api.CheckReport((api.FileReport("bad.py", error="syntax error at 1:5: unexpected token"),)
                           + checked().files)

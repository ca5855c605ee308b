from __future__ import annotations

from ..types import ERROR, KnownError
from .base import Rule


class LaunchArgumentRejected(Rule):
    """The script's argument parser refuses the command line its launch gives it.

    Why it breaks: a launch (`accelerate launch ... train.py --per_device_train_batch_sise 4`, a line of
    `run_ppo.sh`) hands the script words its parser does not take: an option no `add_argument` and no
    field of the `HfArgumentParser`/`TrlParser` dataclasses declares, a word the option's type rejects
    (`--num_mini_batches two`), an option without its value. argparse stops with `error: unrecognized
    arguments: ...` or `error: argument --x: invalid int value: '...'` (exit 2), HfArgumentParser raises
    `ValueError: Some specified arguments are not used by the HfArgumentParser: [...]`: on every rank,
    after the launcher has started them all.

    The parser's options are read from the source (types, `action="store_true"`, `nargs`, bool fields
    taking `--flag` alone or a truthy word) and, for TRL's PPOConfig, from the target release's fields.
    Silent where the parser cannot be read: a dataclass whose fields no data gives (TRL's ModelConfig,
    ScriptArguments), `parse_known_args`, a `TrlParser --config` YAML.

    Fix: correct the launch's arguments (the finding names the launch line), or declare the option.
    """

    code = "PPD701"
    name = "launch-argument-rejected"
    severity = ERROR
    summary = "the script's parser refuses the launch's command line"
    known_errors = (
        KnownError("unrecognized", r"error: unrecognized arguments:", "train.py: error: unrecognized arguments: --bogus 1",
                   "any", "parser.parse_args()", "the launch passes an option the script's parser does not declare",
                   "correct the launch's arguments or declare the option"),
        KnownError("not-used", r"Some specified arguments are not used by the HfArgumentParser",
                   "ValueError: Some specified arguments are not used by the HfArgumentParser: ['--bogus', '1']",
                   "any", "parser.parse_args_into_dataclasses()",
                   "the launch passes an option no field of the parser's dataclasses declares",
                   "correct the launch's arguments or add the field"),
    )

    def check(self, context):
        if context.launch is None:
            return
        for refusal in context.file.refusals:
            yield self.report(f"the script's parser refuses the launch's command line: `{refusal.message}`",
                              refusal.span)

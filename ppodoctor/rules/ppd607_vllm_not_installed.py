from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..probe.probe_checks import Check
from ..trl_api.target import has_package
from ..types import ERROR, UNSAFE, KnownError, OperationKind
from .base import Rule
from .common import ReplacementFix, replace_fix
from .group_common import GROUP_KINDS, applies, config_field, example, group_config, trainer_word


@dataclass(frozen=True)
class PackageOption:
    """A config option that makes the trainer import an optional package, and what happens without it
    (measured in trl 1.16, transformers 5.25, on an interpreter without the package)."""

    field: str  # the GRPOConfig/RLOOConfig field
    package: str  # the import name asked of the target interpreter
    install: str  # how the user gets it
    error: str  # the error raised, as measured
    raised_by: str  # where it is raised: "{word}" stands for RLOO or GRPO
    off: Optional[str]  # the literal that turns the option off, for the fix; None: no mechanical cure

    def raised_in(self, word: str) -> str:
        return self.raised_by.format(word=word)

    def wanted(self, value: Any) -> bool:
        """Whether the written value asks for the package (True for a switch; any path or dict for a config)."""
        return value is True if self.off == "False" else value not in (None, False, "", {})


# One row per option; the rule's check, message, known errors and docs are read from here.
PACKAGE_OPTIONS = (
    PackageOption("use_vllm", "vllm", "pip install trl[vllm]",
                  "ImportError: vLLM is not available and `use_vllm` is set to True. Please install vLLM with "
                  "`pip install trl[vllm]` to use it.", "{word}Trainer(...)", "False"),
    PackageOption("use_liger_kernel", "liger_kernel", "pip install liger-kernel",
                  "ImportError: You have set `use_liger_kernel` to `True` but liger-kernel >= 0.3.0 is not "
                  "available. Please install it with `pip install liger-kernel`", "trainer.train()", "False"),
    PackageOption("deepspeed", "deepspeed", "pip install deepspeed",
                  "importlib.metadata.PackageNotFoundError: No package metadata was found for The "
                  "'deepspeed>=0.9.3' distribution was not found and is required by this application.",
                  "{word}Config(...)", None),
)
_PATTERNS = {
    "use_vllm": r"vLLM is not available and `use_vllm` is set to True",
    # trl 1.12's GRPOTrainer asks itself ("Liger is required to use `use_liger_kernel` as the GRPO loss");
    # trl 1.16 leaves it to transformers' Trainer, at train()
    "use_liger_kernel": r"liger-kernel >= [\d.]+ is not available|Liger is required to use `use_liger_kernel`",
    "deepspeed": r"'deepspeed>=[\d.]+' distribution was not found",
}


class OptionPackageMissing(ReplacementFix, Rule):
    """An option that needs a package the interpreter that will run the script lacks: `use_vllm=True`
    without vLLM, `use_liger_kernel=True` without liger-kernel, `deepspeed=` without DeepSpeed.

    Why it breaks: these options make RLOOTrainer and GRPOTrainer (or transformers' Trainer under them)
    import an optional package, and they fail without it, after the policy is loaded or when the config
    is built (measured in trl 1.16):
    `use_vllm=True`: `ImportError: vLLM is not available and `use_vllm` is set to True. Please install
    vLLM with `pip install trl[vllm]` to use it.` when the trainer is built;
    `use_liger_kernel=True`: `ImportError: You have set `use_liger_kernel` to `True` but liger-kernel >=
    0.3.0 is not available. Please install it with `pip install liger-kernel`` at `trainer.train()`
    (trl 1.12's GRPOTrainer asks at construction: "Liger is required to use `use_liger_kernel` as the
    GRPO loss");
    `deepspeed="ds.json"`: the config itself raises `importlib.metadata.PackageNotFoundError: No package
    metadata was found for The 'deepspeed>=0.9.3' distribution was not found and is required by this
    application.` vLLM, liger-kernel and DeepSpeed are optional dependencies (vLLM and liger need a GPU).

    Fix: install the package in that environment, or turn the option off: `use_vllm=False` (generation is
    slower, vLLM's own options no longer apply) and `use_liger_kernel=False` are written as unsafe fixes;
    a DeepSpeed config gets none (without it the run is not sharded, which the plan may need). The rule
    knows what the interpreter has only where the target is its installed TRL (`--python`, or the one
    running ppodoctor); with a bare `--trl-version` it stays silent.
    """

    code = "PPD607"
    name = "option-package-missing"
    severity = ERROR
    summary = "an option (use_vllm, use_liger_kernel, deepspeed) needs a package the target interpreter lacks"
    trainer_kinds = GROUP_KINDS
    probe_check = "the config rebuilt in the target interpreter (DeepSpeed's check is its own), then with use_vllm " \
                  "the check TRL runs first when it starts vLLM (VLLMGeneration._init_vllm); fixed: they pass"
    fix_title = "turn the option off (use_vllm=False, use_liger_kernel=False)"
    known_errors = tuple(
        KnownError(f"{option.field}-package-missing", _PATTERNS[option.field], option.error, "1.12 - 1.16",
                   " / ".join(dict.fromkeys(option.raised_in(word) for word in ("RLOO", "GRPO"))),
                   f"`{option.field}` set in an environment without {option.package}",
                   f"install it (`{option.install}`)" + (f" or set `{option.field}={option.off}`" * bool(option.off)))
        for option in PACKAGE_OPTIONS)
    # The examples are checked against a bare --trl-version, where the installed packages are not known:
    # the rule's firing is shown on real interpreters (tests/test_group_rules.py, tests/test_group_packages.py).
    invalid = ()
    valid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", use_vllm=True, num_generations=4, per_device_train_batch_size=4)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        config = RLOOConfig(output_dir="out", use_liger_kernel=True, deepspeed="ds_zero2.json")
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        origin = group_config(setup)
        python = context.target.python
        if origin is None or not python or not applies(context):
            return
        for option in PACKAGE_OPTIONS:
            known, value = config_field(setup, origin, option.field)
            if not known or not option.wanted(value) or has_package(python, option.package) is not False:
                continue
            keyword = origin.keyword(option.field)
            yield self.report(
                f"{option.field}={value!r}, and {python} has no {option.package}: "
                f"{option.raised_in(trainer_word(setup))} raises "
                f"`{option.error}` (trl 1.16 measured, target {context.target.version}); install it "
                f"(`{option.install}`)" + (f" or set {option.field}={option.off}" if option.off else ""),
                (keyword.span if keyword is not None else None) or origin.span or setup.span, setup,
                fix=self._fix(option, origin, keyword), subject=option.field)

    @staticmethod
    def _fix(option: PackageOption, origin, keyword):
        if option.off is None or keyword is None or keyword.value_span is None or keyword.key_span is not None \
                or any(op.kind == OperationKind.SET and op.name == option.field for op in origin.operations):
            return None  # no mechanical cure, or the value is not (only) written as a keyword of the call
        return replace_fix(f"set {option.field}={option.off}", [(keyword.value_span, option.off)], UNSAFE)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import config_checks, step_fails

        patterns = [_PATTERNS[diagnostic.subject]] if diagnostic.subject in _PATTERNS else []
        if diagnostic.subject == "use_vllm":
            return step_fails(facts, diagnostic.setup_index, Check.VLLM, patterns)
        if diagnostic.subject == "deepspeed":  # the config itself asks for the distribution
            return config_checks(facts, diagnostic.setup_index, patterns)
        return None, "liger-kernel is imported at train(), which the probe does not start"

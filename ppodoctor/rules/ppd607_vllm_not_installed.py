from __future__ import annotations

from ..probe.probe_checks import Check
from ..trl_api.target import has_package
from ..types import ERROR, UNSAFE, KnownError
from .base import Rule
from .common import ReplacementFix, replace_fix
from .group_common import GROUP_KINDS, MEASURED, applies, config_field, example, group_config, trainer_word


class VllmNotInstalled(ReplacementFix, Rule):
    """`use_vllm=True` where the interpreter that will run the script has no vLLM.

    Why it breaks: with `use_vllm=True`, RLOOTrainer and GRPOTrainer generate with vLLM and check for it
    when they are built: `ImportError: vLLM is not available and `use_vllm` is set to True. Please
    install vLLM with `pip install trl[vllm]` to use it.` (trl 1.12 - 1.16), after the policy is loaded.
    vLLM is an optional dependency of TRL (and needs a GPU); a CPU or a fresh environment has none.

    Fix: install vLLM in that environment (`pip install trl[vllm]`), or generate with transformers:
    `use_vllm=False` (unsafe: generation is slower and vLLM's own options no longer apply). The rule
    knows what the interpreter has only where the target is its installed TRL (`--python`, or the one
    running ppodoctor); with a bare `--trl-version` it stays silent.
    """

    code = "PPD607"
    name = "vllm-not-installed"
    severity = ERROR
    summary = "use_vllm=True where the target interpreter has no vLLM"
    trainer_kinds = GROUP_KINDS
    fix_title = "set use_vllm=False (generate with transformers)"
    probe_check = "the config rebuilt in the target interpreter, then with use_vllm the check TRL runs first when " \
                  "it starts vLLM (VLLMGeneration._init_vllm); fixed: it passes"
    known_errors = (
        KnownError("vllm-not-installed", r"vLLM is not available and `use_vllm` is set to True",
                   "ImportError: vLLM is not available and `use_vllm` is set to True. Please install vLLM with "
                   "`pip install trl[vllm]` to use it.", "1.12 - 1.16", "RLOOTrainer(...) / GRPOTrainer(...)",
                   "`use_vllm=True` in an environment without vLLM",
                   "install vLLM (`pip install trl[vllm]`) or set `use_vllm=False`"),
    )
    # The examples are checked against a bare --trl-version, where the installed packages are not known:
    # the rule's firing is shown on real interpreters (tests/test_group_rules.py).
    invalid = ()
    valid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", use_vllm=True, num_generations=4, per_device_train_batch_size=4)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''),)

    def check_setup(self, setup, context):
        origin = group_config(setup)
        python = context.target.python
        keyword = origin.keyword("use_vllm") if origin is not None else None
        if keyword is None or not python or not applies(context):
            return
        known, value = config_field(setup, origin, "use_vllm")
        if not known or value is not True or has_package(python, "vllm") is not False:
            return
        fix = replace_fix(self.fix_title, [(keyword.value_span, "False")], UNSAFE) \
            if keyword.value_span is not None and keyword.key_span is None else None
        yield self.report(
            f"use_vllm=True, and {python} has no vLLM: {trainer_word(setup)}Trainer raises `ImportError: vLLM is not "
            f"available and `use_vllm` is set to True` when it is built ({MEASURED}, target "
            f"{context.target.version}); install it (`pip install trl[vllm]`) or set use_vllm=False",
            keyword.span or origin.span, setup, fix=fix, subject="use_vllm")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import step_fails

        return step_fails(facts, diagnostic.setup_index, Check.VLLM, [known.pattern for known in self.known_errors])

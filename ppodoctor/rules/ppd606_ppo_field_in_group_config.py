from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..setup.model import Keyword
from ..types import ERROR, SAFE, KnownError
from .base import Rule
from .common import ReplacementFix, rename_keyword
from .group_common import GROUP_KINDS, MEASURED, applies, example, group_config

if TYPE_CHECKING:
    from ..migrate.mapping import FieldRule


class PPOFieldInGroupConfig(ReplacementFix, Rule):
    """A PPOConfig field in an RLOOConfig or GRPOConfig.

    Why it breaks: RLOOConfig and GRPOConfig are dataclasses: a field they do not have is a `TypeError`
    where the config is built, `TypeError: GRPOConfig.__init__() got an unexpected keyword argument
    'kl_coef'` (trl 1.12 - 1.16). PPO's fields come along when a PPO script is ported by hand, or copied
    from a PPO example: some have a new name (`kl_coef` → `beta`, `cliprange` → `epsilon`,
    `num_ppo_epochs` → `num_iterations`, `response_length` → `max_completion_length`), some are computed
    differently (`total_episodes` → `max_steps`, `num_mini_batches` → `steps_per_generation`), and the
    critic's (`vf_coef`, `cliprange_value`, `gamma`, `lam`, `whiten_rewards`) have no counterpart.

    Fix: the renamed ones are renamed (safe: the original cannot run); the others are yours to port
    (`ppodoctor migrate` does it for a whole PPO script, with the arithmetic). The table is migrate's own
    (migrate/mapping.py), for PPOConfig fields of every era; a field the target's config has is never
    reported.
    """

    code = "PPD606"
    name = "ppo-field-in-group-config"
    severity = ERROR
    summary = "a PPOConfig field in an RLOOConfig/GRPOConfig"
    trainer_kinds = GROUP_KINDS
    fix_title = "rename the PPO field to its RLOO/GRPO name"
    probe_check = "RLOOConfig/GRPOConfig(...) rebuilt from the call's keywords in the target interpreter: the " \
                  "dataclass rejects the field; fixed: it has no such field left and the config builds"
    known_errors = (
        KnownError("ppo-field-on-successor-config", r"(?<=(?:RLOO|GRPO)Config\.__init__\(\) got an )unexpected "
                   r"keyword argument '(\w+)'",
                   "TypeError: GRPOConfig.__init__() got an unexpected keyword argument 'kl_coef'", "1.12 - 1.16",
                   "RLOOConfig(...) / GRPOConfig(...)", "a PPOConfig field the new config does not have",
                   "kl_coef→beta, cliprange→epsilon, num_ppo_epochs→num_iterations, response_length→"
                   "max_completion_length, num_mini_batches→steps_per_generation, total_episodes→max_steps; the "
                   "critic's fields go (`ppodoctor migrate` ports a whole PPO script)"),
    )
    invalid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", kl_coef=0.05, num_generations=4, per_device_train_batch_size=4)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        config = RLOOConfig(output_dir="out", vf_coef=0.1)
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))
    valid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", beta=0.05, epsilon=0.2, temperature=0.7, num_generations=4,
                            per_device_train_batch_size=4)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''),)

    def check_setup(self, setup, context):
        origin = group_config(setup)
        if origin is None or not applies(context) or not origin.keywords:
            return
        # migrate's table and the era data load only for a config to check: kept off `check`'s start-up
        from ..migrate import mapping
        from ..trl_api import table

        config = origin.class_name.rsplit(".", 1)[-1]
        own = table.successor_config_fields(config.replace("Config", "Trainer"), context.target.version)
        successor = mapping.GRPO if config.startswith("GRPO") else mapping.RLOO
        written = {keyword.name for keyword in origin.keywords}
        for keyword in origin.keywords:
            rule = _ppo_rule(keyword.name, mapping)
            if rule is None or keyword.name in own:
                continue
            advice, fix = self._advice(rule, keyword, successor, written, mapping)
            yield self.report(
                f"`{keyword.name}` is a PPOConfig field: {config} raises `TypeError: {config}.__init__() got an "
                f"unexpected keyword argument '{keyword.name}'` ({MEASURED}, target {context.target.version}); "
                f"{advice}", keyword.span or origin.span, setup, fix=fix, subject=keyword.name)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import unknown_config_field

        return unknown_config_field(facts, diagnostic.setup_index, diagnostic.subject)

    @staticmethod
    def _advice(rule: "FieldRule", keyword: Keyword, successor: str, written: set, mapping):
        if successor not in rule.only:
            return f"it has no counterpart: {mapping.format_reason(rule.otherwise, successor)}; remove it", None
        if rule.action == mapping.Action.RENAME:
            direct = keyword.key_span is None and keyword.span is not None and keyword.value_span is not None \
                and keyword.span.line == keyword.value_span.line and rule.new not in written
            fix = rename_keyword(f"rename `{keyword.name}` to `{rule.new}`", keyword.span, keyword.name, rule.new,
                                 SAFE) if direct else None
            return f"its {successor.upper()} name is `{rule.new}`", fix
        if rule.action == mapping.Action.COMPUTE and rule.new:
            return (f"its counterpart is `{rule.new}`, computed differently (`ppodoctor migrate` does the "
                    "arithmetic)"), None
        reason = mapping.format_reason(rule.reason, successor) if rule.reason else "it has no counterpart"
        return f"it has no counterpart: {reason}; remove it", None


def _ppo_rule(name: str, mapping) -> Optional["FieldRule"]:
    """The port's rule for a PPOConfig field of either family that is not kept as it is."""
    for family in (mapping.NEW_FAMILY, mapping.OLD_FAMILY):
        rule = mapping.rule_for(name, family)
        if rule is not None and rule.action != mapping.Action.KEEP:
            return rule
    return None

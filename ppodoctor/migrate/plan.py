"""PPOConfig → RLOOConfig / GRPOConfig: each field's fate, from the setup model and the two tables.

Reads the config's keywords as the setup model recorded them (literal values where the source has
them, source text always), mapping.py (what each field becomes) and successors.json (the new
config's fields and defaults, PPOConfig's defaults per release). Writes no text: rewrite.py does.

Batch arithmetic, with P = per_device_train_batch_size, GA = gradient_accumulation_steps, M =
num_mini_batches, μ = num_ppo_epochs, one process:
- PPO samples a rollout of P·GA·M prompts (one completion each), then runs μ epochs of M optimizer
  steps over it. RLOO/GRPO sample a generation batch of P·steps_per_generation completions and reuse
  it num_iterations times, one optimizer step per GA micro-batches. So steps_per_generation = GA·M
  keeps PPO's rollout size (TRL's table says num_mini_batches → steps_per_generation; with GA = 1 that
  is the same), num_iterations = μ, and max_steps = ceil(total_episodes / (P·GA·M)) · M · μ keeps
  PPO's number of optimizer steps.
- The generation batch must divide by num_generations (G ≥ 2): G is the smallest such divisor.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..setup.model import Keyword, PPOSetup
from ..trl_api import config_moves, eras, table
from ..trl_api.eras import Version
from ..types import ValueKind
from . import mapping
from .mapping import Action, Special
from .model import ChangeKind, ConfigPlan, FieldChange, Note, NoteKind

AMBIGUOUS = object()
_MISSING = object()
# TrainingArguments' defaults the arithmetic reads (the same in every transformers release PPO met).
_ARITHMETIC_DEFAULTS = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1}


def family_of(setup: PPOSetup) -> str:
    # PPOv2Trainer (0.9 - 0.11) already had the TrainingArguments-based config that 0.12's PPOConfig became.
    return mapping.OLD_FAMILY if setup.code_era == eras.OLD else mapping.NEW_FAMILY


def _literal(keyword: Optional[Keyword]) -> Any:
    if keyword is None or keyword.value.kind != ValueKind.LITERAL:
        return _MISSING
    return keyword.value.value


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def ppo_default(name: str, family: str, versions: Sequence[Version]) -> Any:
    """What PPO used for `name` when the script does not set it, over the releases it may run on."""
    found = []
    for version in versions:
        defaults = table.ppo_config_defaults(version)
        if name in defaults:
            value = defaults[name]
        elif family == mapping.NEW_FAMILY:
            value = mapping.TRAINING_ARGUMENTS_DEFAULTS.get(name, _ARITHMETIC_DEFAULTS.get(name, _MISSING))
        else:
            value = mapping.OLD_FAMILY_IMPLICIT.get(name, _MISSING)
        found.append(_effective(name, value))
    distinct = {repr(value) for value in found}
    if not found or _MISSING in found:
        return _MISSING
    return found[0] if len(distinct) == 1 else AMBIGUOUS


def new_default(trainer: str, name: str, version: Version) -> Any:
    info = table.successor_config_fields(trainer, version).get(name)
    if info is None:
        value = mapping.TRAINING_ARGUMENTS_DEFAULTS.get(name, _ARITHMETIC_DEFAULTS.get(name, _MISSING))
    else:
        value = info.get("default", _MISSING)
    return _effective(name, value)


def _effective(name: str, value: Any) -> Any:
    # bf16=None means "True unless fp16" in every config that declares it so (PPO 0.29+, the new ones).
    return True if name == "bf16" and value is None else value


class _Planner:
    def __init__(self, setup: PPOSetup, target: str, version: Version, ppo_versions: Sequence[Version],
                 given: Optional[dict] = None) -> None:
        self.setup, self.target, self.version = setup, target, version
        self.trainer, self.config_class = mapping.TRAINERS[target]
        self.ppo_versions = tuple(ppo_versions)
        self.family = family_of(setup)
        origin = setup.origin("config")
        self.keywords: dict[str, Keyword] = {k.name: k for k in origin.keywords} if origin is not None else {}
        self.new_fields = table.successor_config_fields(self.trainer, version)
        self.changes: list[FieldChange] = []
        self.notes: list[Note] = []
        self.eos_penalty: Optional[str] = None
        self.written: dict[str, str] = {}  # new field → its value's source text, once decided
        self.given = dict(given or {})  # new field → (value text, why): what the script says elsewhere

    # --- helpers ------------------------------------------------------------------------------
    def reason(self, text: str) -> str:
        return mapping.format_reason(text, self.target)

    def note(self, text: str, kind: NoteKind = NoteKind.MEANING) -> None:
        self.notes.append(Note(kind, text))

    def value_of(self, name: str) -> Any:
        """The literal the script gives `name`, else PPO's default; AMBIGUOUS or _MISSING when unknown."""
        if name in self.keywords:
            return _literal(self.keywords[name])
        return ppo_default(name, self.family, self.ppo_versions)

    def text_of(self, name: str) -> Optional[str]:
        """Source text for `name`'s value: as written, else PPO's default; None when not known."""
        if name in self.keywords:
            return self.keywords[name].value.text
        value = ppo_default(name, self.family, self.ppo_versions)
        return None if value is _MISSING or value is AMBIGUOUS else repr(value)

    def has_new(self, name: str) -> bool:
        return name in self.new_fields or name in mapping.TRAINING_ARGUMENTS_DEFAULTS or \
            name in _ARITHMETIC_DEFAULTS or name in ("max_steps", "report_to", "run_name")

    def drop(self, name: str, why: str) -> None:
        self.changes.append(FieldChange(ChangeKind.DROP, name, comment=f"{name}: {self.reason(why)}"))

    # --- the plan -------------------------------------------------------------------------------
    def run(self) -> ConfigPlan:
        handled_specials: set[Special] = set()
        for name, keyword in self.keywords.items():
            rule = mapping.rule_for(name, self.family)
            if rule is None:
                self.unlisted(name)
            elif self.target not in rule.only:
                self.drop(name, rule.otherwise)
            elif rule.action is Action.KEEP:
                pass
            elif rule.action is Action.RENAME:
                if name == "kl_coef" or name == "init_kl_coef":
                    self.written["beta"] = keyword.value.text
                self.changes.append(FieldChange(ChangeKind.RENAME, name, rule.new))
            elif rule.action is Action.DROP:
                self.drop(name, rule.reason)
                if rule.report:
                    self.note(self.reason(rule.report.replace("{value}", keyword.value.text)), NoteKind.UNPORTED)
            elif rule.special not in handled_specials:
                handled_specials.add(rule.special)
                getattr(self, "special_" + rule.special.value)(name)
        for special in (Special.MINI_BATCHES, Special.OLD_BATCH):
            if special not in handled_specials and self.applies(special):
                getattr(self, "special_" + special.value)("")
        for new, (value, why) in self.given.items():
            self.written[new] = value
            self.changes.append(FieldChange(ChangeKind.ADD, "", new, value, comment=f"{new}={value}: {why}"))
        if self.family == mapping.OLD_FAMILY and "adap_kl_ctrl" not in self.keywords:
            # One fact for `fix` (PPD205's unsafe init_kl_coef -> kl_coef) and the port: the table's.
            self.note(f"beta: {config_moves.move_of('init_kl_coef', fixed_kl=False).why}")
        self.carry_defaults()
        self.generations()
        self.kl_notes()
        return ConfigPlan(tuple(self.changes), tuple(self.notes), self.eos_penalty)

    def applies(self, special: Special) -> bool:
        return (special is Special.OLD_BATCH) == (self.family == mapping.OLD_FAMILY)

    def unlisted(self, name: str) -> None:
        """A keyword the table has no rule for: a TrainingArguments field (kept), or no counterpart."""
        ppo_fields = set().union(*(table.facts(v)["config_fields"] for v in self.ppo_versions)) \
            if self.ppo_versions else set()
        if self.family == mapping.NEW_FAMILY and name not in ppo_fields:
            return  # TrainingArguments' own: the new config inherits it
        self.drop(name, f"no counterpart in {self.config_class}")

    def carry_defaults(self) -> None:
        for rule in mapping.RULES[self.family].values():
            if self.target not in rule.carry_default or rule.field in self.keywords:
                continue
            new = rule.new or rule.field
            if new in self.written or any(c.new == new for c in self.changes):
                continue
            old = ppo_default(rule.field, self.family, self.ppo_versions)
            if old is _MISSING:
                continue
            if old is AMBIGUOUS:
                self.note(f"PPO's default for `{rule.field}` differs between the TRL releases this script fits "
                          f"({', '.join(str(v) for v in self.ppo_versions)}); {self.config_class} uses "
                          f"{new}={new_default(self.trainer, new, self.version)!r}: set it if that matters")
                continue
            if old != new_default(self.trainer, new, self.version):
                self.written[new] = repr(old)
                self.changes.append(FieldChange(ChangeKind.ADD, "", new, repr(old),
                                                comment=f"{new}={old!r}: PPO's default `{rule.field}`, kept "
                                                        f"({self.config_class}'s is "
                                                        f"{new_default(self.trainer, new, self.version)!r})"))

    # --- specials -------------------------------------------------------------------------------
    def special_total_episodes(self, name: str) -> None:
        episodes = self.keywords[name].value.text
        per_device, accumulation = self.value_of("per_device_train_batch_size"), \
            self.value_of("gradient_accumulation_steps")
        mini_batches, epochs = self.value_of("num_mini_batches"), self.value_of("num_ppo_epochs")
        numbers = [_int(v) for v in (_literal(self.keywords[name]), per_device, accumulation, mini_batches, epochs)]
        texts = [self.text_of(n) for n in ("per_device_train_batch_size", "gradient_accumulation_steps",
                                           "num_mini_batches", "num_ppo_epochs")]
        if all(n is not None for n in numbers):
            total, p, ga, m, mu = numbers
            rollout = p * ga * m
            steps = -(-total // rollout) * m * mu
            value = str(steps)
        elif all(t is not None for t in texts):
            p, ga, m, mu = texts
            rollout = f"({p} * {ga} * {m})"
            value = f"-(-({episodes}) // {rollout}) * {m} * {mu}"
        else:
            self.note(f"`{name}={episodes}` is not ported: the batch sizes it divides by are not known here; "
                      f"set max_steps = ceil(total_episodes / (per_device_train_batch_size × "
                      f"gradient_accumulation_steps × num_mini_batches)) × num_mini_batches × num_ppo_epochs",
                      NoteKind.UNPORTED)
            self.drop(name, "see the note: set max_steps by hand")
            return
        self.written["max_steps"] = value
        self.changes.append(FieldChange(
            ChangeKind.SET, name, "max_steps", value,
            comment=f"max_steps={value}: total_episodes={episodes} over rollouts of per_device_train_batch_size × "
                    "gradient_accumulation_steps × num_mini_batches prompts, num_mini_batches × num_ppo_epochs "
                    "optimizer steps each (one process)"))
        self.note(f"max_steps={value} keeps PPO's number of optimizer steps for total_episodes={episodes} on one "
                  "process; each step now sees num_generations completions of fewer prompts")

    def special_num_mini_batches(self, name: str) -> None:
        mini_batches = self.value_of("num_mini_batches")
        accumulation = self.value_of("gradient_accumulation_steps")
        if name and _int(mini_batches) == 1:
            self.drop(name, "one mini-batch: the default steps_per_generation (= gradient_accumulation_steps) "
                      "keeps PPO's rollout size")
            return
        if not name:
            if _int(mini_batches) in (None, 1):
                return
        m, ga = _int(mini_batches), _int(accumulation)
        if m is not None and ga is not None:
            value = str(m * ga)
        else:
            m_text, ga_text = self.text_of("num_mini_batches"), self.text_of("gradient_accumulation_steps")
            if m_text is None or ga_text is None:
                self.note("num_mini_batches is not ported: its value is not known here; set steps_per_generation "
                          "= gradient_accumulation_steps × num_mini_batches", NoteKind.UNPORTED)
                if name:
                    self.drop(name, "see the note")
                return
            value = f"{ga_text} * {m_text}"
        self.written["steps_per_generation"] = value
        comment = (f"steps_per_generation={value}: gradient_accumulation_steps × num_mini_batches, PPO's "
                   "rollout of per_device_train_batch_size × that many prompts")
        if name:
            self.changes.append(FieldChange(ChangeKind.SET, name, "steps_per_generation", value, comment=comment))
        else:
            self.changes.append(FieldChange(ChangeKind.ADD, "", "steps_per_generation", value, comment=comment))

    def special_old_batch(self, name: str) -> None:
        batch, mini = self.value_of("batch_size"), self.value_of("mini_batch_size")
        b, m = _int(batch), _int(mini)
        if "mini_batch_size" in self.keywords:
            self.changes.append(FieldChange(ChangeKind.RENAME, "mini_batch_size", "per_device_train_batch_size"))
        elif m is not None:
            self.changes.append(FieldChange(ChangeKind.ADD, "", "per_device_train_batch_size", str(m),
                                            comment=f"per_device_train_batch_size={m}: PPO's default mini_batch_size"))
        if b is None or m is None:
            if "batch_size" in self.keywords:
                self.drop("batch_size", "see the note")
            self.note("batch_size / mini_batch_size are not literals: set steps_per_generation = batch_size / "
                      "mini_batch_size to keep PPO's rollout size", NoteKind.UNPORTED)
            return
        accumulation = _int(self.value_of("gradient_accumulation_steps")) or 1
        steps = b // m if b % m == 0 else None
        if steps is None:
            self.note(f"batch_size={b} is not a multiple of mini_batch_size={m}; steps_per_generation is left to "
                      "its default", NoteKind.UNPORTED)
        if "batch_size" in self.keywords:
            if steps is not None and steps != accumulation:
                self.written["steps_per_generation"] = str(steps)
                self.changes.append(FieldChange(
                    ChangeKind.SET, "batch_size", "steps_per_generation", str(steps),
                    comment=f"steps_per_generation={steps}: batch_size / mini_batch_size, PPO's rollout of "
                            f"{b} prompts"))
            else:
                self.drop("batch_size", "the rollout batch: per_device_train_batch_size × steps_per_generation "
                          "(its default, gradient_accumulation_steps) gives the same size")
        elif steps is not None and steps != accumulation:
            self.written["steps_per_generation"] = str(steps)
            self.changes.append(FieldChange(ChangeKind.ADD, "", "steps_per_generation", str(steps),
                                            comment=f"steps_per_generation={steps}: PPO's default batch_size / "
                                                    "mini_batch_size"))

    def special_log_with(self, name: str) -> None:
        value = _literal(self.keywords[name])
        text = '"none"' if value is None else self.keywords[name].value.text
        self.changes.append(FieldChange(ChangeKind.SET, name, "report_to", text))

    def special_score_clip(self, name: str) -> None:
        text = self.keywords[name].value.text
        self.changes.append(FieldChange(ChangeKind.SET, name, "reward_clip_range", f"(-({text}), {text})",
                                        comment=f"reward_clip_range: PPO's score_clip={text} clipped scores to "
                                                "±score_clip"))

    def special_missing_eos_penalty(self, name: str) -> None:
        value = _literal(self.keywords[name])
        self.drop(name, "a reward function below subtracts it from completions without an EOS token")
        if value is None:
            return
        self.eos_penalty = self.keywords[name].value.text

    def special_exp_name(self, name: str) -> None:
        if "run_name" in self.keywords:
            self.drop(name, "run_name is given")
        else:
            self.changes.append(FieldChange(ChangeKind.RENAME, name, "run_name"))

    # --- num_generations ------------------------------------------------------------------------
    def generation_batch(self) -> tuple[Optional[int], str]:
        """per-device batch × steps_per_generation (default: gradient_accumulation_steps), if literal."""
        per_device = _int(self.value_of("mini_batch_size" if self.family == mapping.OLD_FAMILY
                                        else "per_device_train_batch_size"))
        if "steps_per_generation" in self.written:
            steps = _int_text(self.written["steps_per_generation"])
        else:
            steps = _int(self.value_of("gradient_accumulation_steps"))
        if per_device is None or steps is None:
            return None, "the batch sizes are not literals"
        return per_device * steps, ""

    def generations(self) -> None:
        batch, why = self.generation_batch()
        if batch is None:
            count = 2
            self.note(f"num_generations=2: {why}, so the generation batch's divisibility by it is left to "
                      f"{self.config_class}'s own check", NoteKind.UNPORTED)
        elif batch == 1:
            count = 2
            steps = 2 * (_int(self.value_of("gradient_accumulation_steps")) or 1)
            self.written["steps_per_generation"] = str(steps)
            self.changes.append(FieldChange(ChangeKind.ADD, "", "steps_per_generation", str(steps),
                                            comment=f"steps_per_generation={steps}: a generation batch of one "
                                                    "cannot hold two completions of a prompt"))
        else:
            count = next(d for d in range(2, batch + 1) if batch % d == 0)
        self.changes.append(FieldChange(
            ChangeKind.ADD, "", "num_generations", str(count),
            comment=f"num_generations={count}: completions per prompt, the baseline of each advantage; the "
                    "generation batch must divide by it"))
        self.note(f"num_generations={count}: each prompt is sampled {count} times and its completions are scored "
                  f"against each other; a generation batch holds 1/{count} as many distinct prompts as PPO's rollout")

    def kl_notes(self) -> None:
        placement = mapping.KL_PLACEMENT[self.target]
        if self.target == mapping.GRPO and "beta" not in self.written:
            old = ppo_default("kl_coef" if self.family == mapping.NEW_FAMILY else "init_kl_coef", self.family,
                              self.ppo_versions)
            shown = "" if old is _MISSING or old is AMBIGUOUS else f" (PPO's default was {old!r})"
            self.note(f"no KL penalty: GRPOConfig's default beta=0.0 loads no reference model{shown}; set beta to "
                      "keep one")
        else:
            self.note(f"KL: {placement}")


def _int_text(text: str) -> Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None


def plan_config(setup: PPOSetup, target: str, version: Version, ppo_versions: Sequence[Version],
                given: Optional[dict] = None) -> ConfigPlan:
    """`given`: new field → (value text, why) the script sets elsewhere (the ≤ 0.11 loop's generate)."""
    return _Planner(setup, target, version, ppo_versions, given).run()


def ppo_versions_for(setup: PPOSetup, imports: Sequence, pinned: Optional[Version] = None) -> tuple[Version, ...]:
    """The table's PPO releases this script can have been written for: its API era and import path."""
    if pinned is not None and table.has_ppo(pinned):
        return (Version.parse(table._entry_key(pinned)),)
    releases = [v for v in table.known_versions() if table.has_ppo(v)]
    era = setup.code_era
    if era == eras.OLD:
        releases = [v for v in releases if v < Version("0.12.0")]
    elif era in (eras.V012, "ppov2"):  # PPOv2Config's defaults are 0.12's PPOConfig's (it was renamed)
        releases = [v for v in releases if (v.major, v.minor) == (0, 12)]
    elif era == eras.V013:
        releases = [v for v in releases if v >= Version("0.13.0")]
    modules = {record.module for record in imports if record.name in ("PPOTrainer", "PPOConfig") or
               record.module.startswith("trl.experimental.ppo")}
    if any(module.startswith("trl.experimental") for module in modules):
        releases = [v for v in releases if v >= Version("0.26.0")]
    elif modules and all(module in ("trl", "trl.trainer") for module in modules):
        releases = [v for v in releases if v < Version("0.29.0")]
    return tuple(releases)

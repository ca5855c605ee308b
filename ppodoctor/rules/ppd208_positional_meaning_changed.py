from __future__ import annotations

from ..probe.probe_checks import Check, Status
from ..setup import kinds
from ..trl_api import eras, table
from ..types import ERROR, ModelKind, OriginKind, Role, Span
from .base import Example, Rule, setup_of
from .common import ReplacementFix, is_other_era_script, ppotrainer_signature, replace_fix

_OLD_POSITIONAL = ("from transformers import AutoModelForCausalLM, AutoTokenizer\nfrom trl import PPOConfig, PPOTrainer\n"
                   "model = AutoModelForCausalLM.from_pretrained(\"sft\")\nref = AutoModelForCausalLM.from_pretrained(\"sft\")\n"
                   "tokenizer = AutoTokenizer.from_pretrained(\"sft\")\n"
                   "trainer = PPOTrainer(PPOConfig(), model, ref, tokenizer)\n")


class PositionalMeaningChanged(ReplacementFix, Rule):
    """Positional PPOTrainer arguments whose slot means something else in the target TRL.

    Why it breaks: up to 0.11 the order was `config, model, ref_model, tokenizer, dataset`; from 0.12
    it is `args, processing_class, model, ref_model, reward_model, train_dataset, value_model`. An
    old-era positional call on a new TRL hands the policy over as the tokenizer and the tokenizer as
    the reference model, and fails far from the call (`'LlamaForCausalLM' object has no attribute
    'pad_token_id'`-style errors, or a missing-argument TypeError). A tokenizer in any slot but the
    processing class's is the same mistake.

    Fix: spell the arguments as keywords of the target era, keeping what each argument was meant to be.
    Only an argument whose kind the source shows (a tokenizer, a PPOConfig, a causal LM, a sequence
    classifier) is judged: one that cannot be resolved is never given a meaning from another era's order.

    Fix safety: safe where every argument's role is known and has a keyword in the target TRL; otherwise
    no fix.
    Probe: lines the arguments up with this interpreter's PPOTrainer.__init__; the fixed call must bind.
    """

    code = "PPD208"
    name = "positional-meaning-changed"
    severity = ERROR
    steps = (Check.SIGNATURE,)
    summary = "positional PPOTrainer arguments whose meaning changed across eras"
    fix_title = "pass the arguments as keywords of the target TRL"
    probe_check = "the positional arguments against PPOTrainer.__init__'s real order; fixed: the keywords bind"
    invalid = (Example(_OLD_POSITIONAL, "0.20.0"),)
    valid = (Example(_OLD_POSITIONAL, "0.11.4"),
             Example("from trl import PPOTrainer\ntrainer = PPOTrainer(cfg, tok, policy, ref, rm, ds, critic)\n",
                     "0.20.0"))

    def check_setup(self, setup, context):
        era = context.target.era
        if not ppotrainer_signature(setup, context) \
                or not eras.has_ppo(era) or setup.unresolved_star \
                or is_other_era_script(setup, context):
            return
        target_order = table.trainer_parameters(context.target.version)
        positional = [b for b in setup.roles if b.via == "positional"]
        mismatched = []
        for binding in positional:
            meanings = meanings_of(binding.origin)
            slot = target_order[binding.position] if binding.position < len(target_order) else None
            if meanings and eras.KEYWORD_ROLES.get(slot or "") not in meanings:
                mismatched.append((binding, meanings, slot))
        if not mismatched:
            return
        replacements, keywords = [], set(setup.keywords())
        for binding in sorted(positional, key=lambda b: b.position):
            role = _role_for(binding, setup)
            keyword = eras.role_keyword(role, era) if role else None
            if keyword is None or keyword not in target_order or keyword in keywords:
                replacements = None
                break
            keywords.add(keyword)
            start = binding.value_span
            replacements.append((Span(start.line, start.column, start.line, start.column), f"{keyword}="))
        first, meanings, slot = mismatched[0]
        where = f"`{slot}`" if slot else "no parameter"
        role = _role_for(first, setup)
        meant = role.replace("_", " ") if role else " or the ".join(sorted(m.replace("_", " ") for m in meanings))
        # A subclass that hands no `**kwargs` on would not pass the new keywords to PPOTrainer.
        fix = replace_fix("Pass the arguments as keywords of the target TRL", replacements) \
            if replacements and all(setup.takes_keyword(text[:-1]) for _span, text in replacements) else None
        yield self.report(
            f"positional argument `{first.text}` ({_KINDS[meanings]}, meant as the {meant}) lands in {where} in trl "
            f"{context.target.version}, whose order is ({', '.join(target_order[:7])}, ...): "
            "pass the arguments by keyword", first.span, setup, fix, subject=str(first.position))

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import positional_names, trainer_parameters, trainer_where

        parameters, why = trainer_parameters(facts)
        setup = setup_of(facts.file, diagnostic)
        if parameters is None or setup is None:
            return None, why or "the finding is not tied to a trainer call"
        names = positional_names(parameters)
        for binding in (b for b in setup.roles if b.via == "positional"):
            meanings = meanings_of(binding.origin)
            slot = names[binding.position] if binding.position < len(names) else None
            if meanings and eras.KEYWORD_ROLES.get(slot or "") not in meanings:
                lands = f"`{slot}`" if slot else "past the last parameter"
                return True, f"in {trainer_where(facts)} `{binding.text}` lands in {lands}"
        return False, f"in {trainer_where(facts)} every positional argument lands where it is meant"

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import check, no_facts

        empty = no_facts(after, diagnostic.setup_index)
        if empty is not None:
            return empty
        signature = check(after.setup(diagnostic.setup_index), Check.SIGNATURE)
        if signature.status is Status.UNCHECKED:
            return None, signature.reason
        wrong = list(signature.detail("unexpected")) + list(signature.detail("multiple"))
        if wrong:
            return False, f"the keywords do not bind: {signature.error}"
        return True, "the call binds by keyword to PPOTrainer.__init__'s real parameters"


_KINDS = {frozenset({Role.PROCESSING_CLASS}): "a tokenizer", frozenset({Role.CONFIG}): "a PPOConfig",
          frozenset({Role.POLICY, Role.REFERENCE}): "a causal LM", frozenset({Role.REWARD, Role.VALUE}): "a sequence classifier"}


def meanings_of(origin) -> frozenset[str]:
    """The roles an argument can fill by what it is (its class), whatever slot it sits in."""
    if kinds.is_tokenizer(origin):
        return frozenset({Role.PROCESSING_CLASS})
    if origin.kind in (OriginKind.CONSTRUCTOR, OriginKind.PARSED_ARGS) and origin.class_name.rsplit(".", 1)[-1] == "PPOConfig":
        return frozenset({Role.CONFIG})
    kind = kinds.model_kind(origin)
    if kind in (ModelKind.CAUSAL_LM, ModelKind.VALUE_HEAD):
        return frozenset({Role.POLICY, Role.REFERENCE})
    if kind == ModelKind.SEQUENCE_CLASSIFIER:
        return frozenset({Role.REWARD, Role.VALUE})
    return frozenset()


# Every era's order puts the policy before the reference and the reward model before the value model.
_ORDERED_PAIRS = {frozenset({Role.POLICY, Role.REFERENCE}): (Role.POLICY, Role.REFERENCE), frozenset({Role.REWARD, Role.VALUE}): (Role.REWARD, Role.VALUE)}


def _role_for(binding, setup) -> str:
    """The role to name: what the argument is; for two of a kind (two causal LMs, two classifiers)
    the order every era shares; else the slot it had in the era the code was written for."""
    meanings = meanings_of(binding.origin)
    if len(meanings) == 1:
        return next(iter(meanings))
    if meanings in _ORDERED_PAIRS:
        alike = [b for b in sorted(setup.roles, key=lambda b: b.position if b.position is not None else -1)
                 if b.via == "positional" and meanings_of(b.origin) == meanings]
        first, second = _ORDERED_PAIRS[meanings]
        if len(alike) == 2:
            return first if alike[0] is binding else second
        keywords = {eras.KEYWORD_ROLES.get(k) for k in setup.keywords()}
        if len(alike) == 1 and (first in keywords) != (second in keywords):
            return second if first in keywords else first
    if setup.code_era == "unknown":
        return ""
    return binding.role if not meanings or binding.role in meanings else ""

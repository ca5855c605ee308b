from __future__ import annotations

from ..setup import kinds
from ..setup.model import PROCESSING_CLASS
from ..trl_api import eras, table
from .base import ERROR, Example, Rule
from .common import is_old_era_script, replace_fix

_OLD_POSITIONAL = ("from transformers import AutoModelForCausalLM, AutoTokenizer\nfrom trl import PPOConfig, PPOTrainer\n"
                   "model = AutoModelForCausalLM.from_pretrained(\"sft\")\nref = AutoModelForCausalLM.from_pretrained(\"sft\")\n"
                   "tokenizer = AutoTokenizer.from_pretrained(\"sft\")\n"
                   "trainer = PPOTrainer(PPOConfig(), model, ref, tokenizer)\n")


class PositionalMeaningChanged(Rule):
    """Positional PPOTrainer arguments whose slot means something else in the target TRL.

    Why it breaks: up to 0.11 the order was `config, model, ref_model, tokenizer, dataset`; from 0.12
    it is `args, processing_class, model, ref_model, reward_model, train_dataset, value_model`. An
    old-era positional call on a new TRL hands the policy over as the tokenizer and the tokenizer as
    the reference model, and fails far from the call (`'LlamaForCausalLM' object has no attribute
    'pad_token_id'`-style errors, or a missing-argument TypeError). A tokenizer in any slot but the
    processing class's is the same mistake.

    Fix: spell the arguments as keywords of the target era, keeping what each argument was meant to be.
    Fix safety: safe where every argument has a keyword in the target TRL; otherwise no fix.
    """

    code = "PPD208"
    name = "positional-meaning-changed"
    severity = ERROR
    summary = "positional PPOTrainer arguments whose meaning changed across eras"
    fixable = True
    invalid = (Example(_OLD_POSITIONAL, "0.20.0"),)
    valid = (Example(_OLD_POSITIONAL, "0.11.4"),
             Example("from trl import PPOTrainer\ntrainer = PPOTrainer(cfg, tok, policy, ref, rm, ds, critic)\n",
                     "0.20.0"))

    def check_setup(self, setup, context):
        era = context.target.era
        if setup.trainer != "PPOTrainer" or setup.subclass or not eras.has_ppo(era) or setup.unresolved_star \
                or is_old_era_script(setup, context):
            return
        target_order = table.trainer_parameters(context.target.version)
        positional = [b for b in setup.roles if b.via == "positional"]
        mismatched = []
        for binding in positional:
            meant = PROCESSING_CLASS if kinds.is_tokenizer(binding.origin) else binding.role
            slot = target_order[binding.position] if binding.position < len(target_order) else None
            if eras.KEYWORD_ROLES.get(slot or "") != meant:
                mismatched.append((binding, meant, slot))
        if not mismatched:
            return
        edits, keywords = [], set(setup.keywords())
        for binding in positional:
            meant = PROCESSING_CLASS if kinds.is_tokenizer(binding.origin) else binding.role
            keyword = eras.role_keyword(meant, era)
            if keyword not in target_order or keyword in keywords:
                edits = None
                break
            keywords.add(keyword)
            edits.append((binding.value_span.line, binding.value_span.column, binding.value_span.line,
                          binding.value_span.column, f"{keyword}="))
        first, meant, slot = mismatched[0]
        where = f"`{slot}`" if slot else "no parameter"
        fix = replace_fix("Pass the arguments as keywords of the target TRL", edits) if edits else None
        yield self.report(
            f"positional argument `{first.text}` (meant as the {meant.replace('_', ' ')}) lands in {where} in trl "
            f"{context.target.version}, whose order is ({', '.join(target_order[:7])}, ...): "
            "pass the arguments by keyword", first.span, setup, fix)

from __future__ import annotations

from ..trl_api import eras
from ..trl_api.target import default_transformers
from ..types import MODEL_ROLES, WARNING
from .base import Example, Rule
from .common import ReplacementFix, is_old_era_script, rename_keyword

_SCRIPT = ("import torch\nfrom transformers import AutoModelForCausalLM\nfrom trl.experimental.ppo import PPOTrainer\n"
           "policy = AutoModelForCausalLM.from_pretrained(\"sft\", {kw}=torch.bfloat16)\n"
           "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
           "                     value_model=critic, train_dataset=ds)\n")


class TorchDtypeKeyword(ReplacementFix, Rule):
    """`torch_dtype=` passed to a model where transformers 5 or later is installed.

    Why it is wrong: transformers 5 renamed the argument `dtype=`; `torch_dtype=` still works but logs
    "`torch_dtype` is deprecated! Use `dtype` instead!" and is slated for removal. The transformers
    version is read from the target interpreter (with a TRL 1.x target and none installed,
    transformers 5 is assumed).

    Fix: rename it `dtype=`.
    Fix safety: safe; transformers 5 treats both alike.
    Probe: reads the transformers version of the interpreter that will run the script.
    """

    code = "PPD207"
    name = "torch-dtype-keyword"
    severity = WARNING
    summary = "`torch_dtype=` where transformers >= 5 is installed"
    fix_title = "rename `torch_dtype=` to `dtype=`"
    probe_check = "the interpreter's transformers version (5 and later deprecate `torch_dtype=`)"
    invalid = (Example(_SCRIPT.format(kw="torch_dtype"), "1.12.0"),)
    valid = (Example(_SCRIPT.format(kw="dtype"), "1.12.0"),)

    def check_setup(self, setup, context):
        transformers, source = context.target.transformers, context.target.transformers_source
        if transformers is None:
            transformers, source = default_transformers(context.target.version)
        if transformers is None or transformers.major < 5 or not eras.has_ppo(context.target.era) \
                or is_old_era_script(setup, context):
            return
        seen = set()
        for role in MODEL_ROLES:
            origin = setup.origin(role)
            while origin is not None:
                keyword = origin.keyword("torch_dtype")
                if keyword is not None and keyword.span is not None and keyword.span not in seen \
                        and origin.keyword("dtype") is None:
                    seen.add(keyword.span)
                    span = keyword.span
                    yield self.report(
                        f"`torch_dtype=` is deprecated in transformers {transformers} "
                        f"({source}); use `dtype=`", span, setup,
                        rename_keyword("Rename `torch_dtype=` to `dtype=`", span, "torch_dtype", "dtype"))
                origin = origin.base

    def reproduce(self, diagnostic, facts):
        version = str(facts.api.get("transformers") or facts.versions.get("transformers") or "")
        if not version:
            return None, f"this interpreter cannot import transformers: {facts.api.get('transformers_error') or '?'}"
        major = version.split(".")[0]
        if not major.isdigit():
            return None, f"cannot read transformers' version {version!r}"
        if int(major) < 5:
            return False, f"transformers {version} takes `torch_dtype=`"
        return True, f"transformers {version} deprecates `torch_dtype=` for `dtype=`"

    def validate_fix(self, diagnostic, before, after):
        found, detail = self.reproduce(diagnostic, after)
        return found, detail.replace("deprecates `torch_dtype=` for", "takes")

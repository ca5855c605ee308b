from __future__ import annotations

from ..setup import kinds
from ..types import MODEL_ROLES, WARNING, OriginKind
from .base import Rule
from .common import new_api_applies


class DtypeMismatch(Rule):
    """The four models are loaded in different dtypes.

    Why it is wrong: TRL feeds the same token ids through the policy, reference, reward and value
    models and compares their outputs (the KL penalty between policy and reference, rewards against
    values). A bf16 policy against an fp32 reference measures precision noise as KL, and an fp32
    copy costs twice the memory of the bf16 one. On CPU it trains without error, so it goes unseen.

    Fix: pass the same `dtype=` (`torch_dtype=` before transformers 5) to every `from_pretrained`.
    """

    code = "PPD303"
    name = "dtype-mismatch"
    severity = WARNING
    summary = "the models are loaded in different dtypes"
    invalid = ('''
        import torch
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft", dtype=torch.bfloat16)
        ref = AutoModelForCausalLM.from_pretrained("sft", dtype=torch.float32)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        import torch
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft", dtype=torch.bfloat16)
        ref = AutoModelForCausalLM.from_pretrained("sft", dtype="bfloat16")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        import torch
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft", dtype=torch.bfloat16)
        ref = AutoModelForCausalLM.from_pretrained("sft", dtype=args.dtype)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        dtypes = {}
        for role in MODEL_ROLES:
            binding = setup.role(role)
            if binding is not None and binding.origin.kind != OriginKind.NONE:
                dtype = kinds.model_dtype(binding.origin)
                if dtype is not None:
                    dtypes[role] = (dtype, binding)
        if len({dtype for dtype, _ in dtypes.values()}) < 2:
            return
        first_role, (first_dtype, _) = next(iter(dtypes.items()))
        odd_role, (odd_dtype, odd_binding) = next((r, d) for r, d in dtypes.items() if d[0] != first_dtype)
        listing = ", ".join(f"{role} {dtype}" for role, (dtype, _) in dtypes.items())
        yield self.report(
            f"the models are loaded in different dtypes ({listing}): the KL penalty and value targets mix "
            f"precisions and memory is wasted; load every model as {first_dtype}",
            odd_binding.value_span, setup,
        )

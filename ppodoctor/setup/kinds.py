"""What kind of model an origin builds, judged from its class name.

TRL needs a causal LM as the policy and reference, and single-logit sequence classifiers (with a
`score` head) as the reward and value models.
"""

from __future__ import annotations

from typing import Optional

from ..types import BUILDING_KINDS, WRAPPING_KINDS, ModelKind, OperationKind, OriginKind, ValueKind
from .model import Origin

_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration", "ForSeq2SeqLM")
_OTHER_SUFFIXES = ("ForTokenClassification", "ForQuestionAnswering", "ForMaskedLM", "Model", "ForPreTraining")


def class_kind(class_name: str) -> ModelKind:
    if not class_name or class_name.startswith("<local>."):
        return ModelKind.UNKNOWN
    last = class_name.rsplit(".", 1)[-1]
    if "WithValueHead" in last or last == "PreTrainedModelWrapper":
        return ModelKind.VALUE_HEAD
    if last.endswith("ForSequenceClassification"):
        return ModelKind.SEQUENCE_CLASSIFIER
    if last.endswith(_CAUSAL_SUFFIXES):
        return ModelKind.CAUSAL_LM
    # Only transformers' own classes are known to lack a head; a user's `RewardModel` may have one.
    if class_name.split(".")[0] == "transformers" and last.endswith(_OTHER_SUFFIXES) and "Tokenizer" not in last:
        return ModelKind.OTHER_MODEL
    return ModelKind.UNKNOWN


def model_kind(origin: Optional[Origin]) -> ModelKind:
    if origin is None:
        return ModelKind.UNKNOWN
    if origin.kind == OriginKind.NONE:
        return ModelKind.NO_MODEL
    if origin.kind in BUILDING_KINDS:
        return class_kind(origin.class_name)
    if origin.kind in WRAPPING_KINDS and origin.base is not None:
        return model_kind(origin.base)
    return ModelKind.UNKNOWN


def is_tokenizer(origin: Optional[Origin]) -> bool:
    if origin is None or origin.kind not in BUILDING_KINDS:
        return False
    last = origin.class_name.rsplit(".", 1)[-1]
    return "Tokenizer" in last


def same_object(a: Optional[Origin], b: Optional[Origin]) -> bool:
    return a is not None and b is not None and bool(a.key) and a.key == b.key


_DTYPE_ALIASES = {
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "half": "float16", "fp16": "float16",
    "float32": "float32", "float": "float32", "fp32": "float32",
    "float64": "float64", "double": "float64",
}


def normalise_dtype(text: object) -> Optional[str]:
    """'torch.bfloat16', 'bfloat16', 'bf16' → 'bfloat16'; 'auto' and unknowns → None."""
    if not isinstance(text, str):
        return None
    return _DTYPE_ALIASES.get(text.rsplit(".", 1)[-1].lower())


def model_dtype(origin: Origin) -> Optional[str]:
    """The dtype a model ends up in when the source says so explicitly, else None."""
    dtype = None
    keyword = origin.keyword("torch_dtype", "dtype")
    if keyword is not None:
        if not keyword.value.known:
            return None
        dtype = normalise_dtype(keyword.value.value)
        if dtype is None:
            return None
    elif origin.kind in WRAPPING_KINDS and origin.base is not None:
        dtype = model_dtype(origin.base)
    for operation in origin.operations:
        if operation.kind != OperationKind.CALL or operation.conditional:
            continue
        if operation.name in ("half", "bfloat16", "float", "double"):
            dtype = normalise_dtype(operation.name)
        elif operation.name == "to":
            for arg in operation.args + tuple(k.value for k in operation.keywords if k.name == "dtype"):
                converted = normalise_dtype(arg.value) if arg.kind == ValueKind.NAME else None
                dtype = converted or dtype
    return dtype

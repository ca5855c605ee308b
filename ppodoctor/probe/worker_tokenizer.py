"""The worker's tokenizer half: load the saved tokenizer, replay what the script does to it.

Runs inside the user's interpreter (see worker.py): standard library and transformers only.
"""

from __future__ import annotations

from probe_checks import Built
from worker import error_text, keyword_map

_LOAD_KEYWORDS = ("pad_token", "eos_token", "bos_token", "unk_token", "padding_side")


def tokenizer_binding(setup: dict):
    return next((b for b in setup["roles"] if b["role"] == "processing_class"), None)


def operations(origin: dict) -> list:
    inherited = operations(origin["base"]) if origin.get("base") else []
    return inherited + list(origin.get("operations") or ())


def replay(tokenizer, operation: dict) -> bool:
    """Applies one recorded operation; False when its effect cannot be known."""
    kind, name = operation["kind"], operation["name"]
    args = [a for a in operation.get("args") or ()]
    if kind == "call" and name in ("add_special_tokens", "add_tokens"):
        if len(args) != 1 or args[0]["kind"] != "literal":
            return False
        getattr(tokenizer, name)(args[0]["value"] if name == "add_special_tokens" else list(args[0]["value"]))
        return True
    if kind == "set" and name in ("pad_token", "pad_token_id"):
        if operation.get("conditional") and tokenizer.pad_token is not None:
            return True  # `if tok.pad_token is None: tok.pad_token = ...` leaves a saved pad token alone
        value = operation.get("value") or {}
        text = value.get("text", "")
        if value.get("kind") == "literal":
            setattr(tokenizer, name, value["value"])
            return True
        for special in ("eos_token", "unk_token", "bos_token"):
            if text.endswith("." + special) or text.endswith("." + special + "_id"):
                setattr(tokenizer, name, getattr(tokenizer, special + ("_id" if name.endswith("_id") else "")))
                return True
        return False
    if kind in ("call", "set") and "pad" not in name and "token" not in name and "special" not in name:
        return True  # `tok.padding_side = "left"`, `tok.save_pretrained(...)`: no effect on the vocabulary
    return False


def build_tokenizer(setup: dict, resolver):
    binding = tokenizer_binding(setup)
    if binding is None:
        return None, {"status": Built.ABSENT}
    origin = binding["origin"]
    if origin["kind"] != "from_pretrained" or "Tokenizer" not in origin.get("class_name", ""):
        return None, {"status": Built.UNCHECKED, "reason": "the processing class is not a visible "
                                                         "AutoTokenizer.from_pretrained(...) call"}
    from transformers import AutoTokenizer

    try:
        source = resolver.source(origin)
        kwargs = {}
        for name, value in keyword_map(origin).items():
            if name in _LOAD_KEYWORDS:
                if value["kind"] != "literal":
                    return None, {"status": Built.UNCHECKED, "reason": f"`{name}=` is not a literal"}
                kwargs[name] = value["value"]
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=resolver.remote_code(origin), **kwargs)
    except Exception as error:
        reason = str(error) if type(error).__name__ == "Unresolved" else \
            resolver.explain(source if "source" in locals() else "?", origin, error)
        return None, {"status": Built.UNCHECKED, "reason": reason}
    saved = {"pad_token": tokenizer.pad_token, "length": len(tokenizer)}
    opaque = []
    for operation in operations(origin):
        try:
            if not replay(tokenizer, operation):
                opaque.append(operation["name"])
        except Exception as error:
            opaque.append(f"{operation['name']} ({error_text(error)})")
    facts = {"status": Built.BUILT, "source": source, "class": type(tokenizer).__name__, "saved": saved,
             "pad_token": tokenizer.pad_token, "pad_id": tokenizer.pad_token_id, "eos_token": tokenizer.eos_token,
             "eos_id": tokenizer.eos_token_id, "length": len(tokenizer), "opaque": opaque}
    # TRL replaces pad ids with 0 before every forward pass, so the pad id alone may lie past a model's vocabulary.
    ids = [i for i in range(len(tokenizer)) if i != tokenizer.pad_token_id]
    facts["needed_vocab"] = (max(ids) + 1) if ids else 0
    return tokenizer, facts

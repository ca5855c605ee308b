"""Reads the worker's facts: does a finding reproduce in a setup as built on the meta device?

`reproduces(code, facts)` answers True (the failure TRL would raise is there), False (the check
passes) or None (the probe could not tell; the text says why). Everything here is plain Python:
the facts are the worker's JSON dicts.
"""

from __future__ import annotations

from typing import Callable, Optional

Answer = tuple[Optional[bool], str]
SCORERS = ("reward", "value")


def _failed_checks(facts: dict, names: tuple[str, ...], match: Callable[[str], bool]) -> Answer:
    """True if a named check fails with a matching error; False if none could fail; else None."""
    checks = facts.get("checks") or {}
    unchecked = ""
    for name in names:
        check = checks.get(name) or {"status": "unchecked", "reason": f"no {name} check ran"}
        if check["status"] == "fail" and match(check.get("error", "")):
            return True, check["error"]
        if check["status"] == "unchecked" and not unchecked:
            unchecked = check.get("reason", "")
    if unchecked:
        return None, unchecked
    return False, "TRL's checks pass on the meta-device models (" + ", ".join(names) + ")"


def _any(_error: str) -> bool:
    return True


def _value_missing(facts: dict) -> Answer:
    def match(error: str) -> bool:
        return "value_model" in error or "NoneType" in error or "score" in error

    return _failed_checks(facts, ("signature", "dropout", "wrapper", "value_get_reward"), match)


def _value_not_classifier(facts: dict) -> Answer:
    return _failed_checks(facts, ("wrapper", "value_get_reward"), lambda error: "score" in error)


def _reward_not_classifier(facts: dict) -> Answer:
    return _failed_checks(facts, ("reward_get_reward",), lambda error: "score" in error)


def _value_head_wrapper(facts: dict) -> Answer:
    return _failed_checks(facts, ("generation_config", "wrapper", "value_get_reward"), _any)


def _reference_is_policy(facts: dict) -> Answer:
    return _failed_checks(facts, ("same_object",), _any)


def _required_argument(facts: dict) -> Answer:
    return _failed_checks(facts, ("signature",), lambda error: "missing" in error)


def _model(facts: dict, role: str) -> dict:
    return (facts.get("models") or {}).get(role) or {"status": "absent"}


def _num_labels(facts: dict) -> Answer:
    seen = []
    for role in SCORERS:
        model = _model(facts, role)
        if model["status"] == "unchecked":
            return None, f"the {role} model: {model['reason']}"
        if model["status"] == "built" and model.get("head_width") is not None:
            if model["head_width"] != 1:
                return True, f"the {role} model's `{model['head']}` head has {model['head_width']} outputs, not 1"
            seen.append(role)
    if not seen:
        return None, "no reward or value model was built"
    return False, f"the {' and '.join(seen)} model heads have one output"


def unusable_heads(facts: dict) -> list[tuple[str, dict, str]]:
    """Sequence classifiers whose head TRL's `get_reward` cannot use (BERT's `classifier`)."""
    found = []
    for role in SCORERS:
        model, check = _model(facts, role), (facts.get("checks") or {}).get(f"{role}_get_reward") or {}
        if model["status"] == "built" and model.get("class", "").endswith("ForSequenceClassification") \
                and check.get("status") == "fail" and "score" in check.get("error", ""):
            found.append((role, model, check["error"]))
    return found


def _unusable_head(facts: dict) -> Answer:
    found = unusable_heads(facts)
    if found:
        return True, found[0][2]
    return _failed_checks(facts, ("reward_get_reward", "value_get_reward"), lambda error: False)


def vocabulary_mismatches(facts: dict) -> list[tuple[str, int, int]]:
    """(role, model vocabulary, ids it may be fed) for each model whose embeddings are too few."""
    tokenizer = facts.get("tokenizer") or {}
    if tokenizer.get("status") != "built":
        return []
    needed = tokenizer.get("needed_vocab") or 0
    policy = _model(facts, "policy")
    found = []
    for role in ("policy", "reference", "reward", "value"):
        model = _model(facts, role)
        if model["status"] != "built" or not model.get("vocab"):
            continue
        wanted = needed
        if role in SCORERS and policy["status"] == "built" and policy.get("head_width"):
            wanted = max(wanted, policy["head_width"])  # they score whatever the policy generates
        if model["vocab"] < wanted:
            found.append((role, model["vocab"], wanted))
    return found


def _vocabulary(facts: dict) -> Answer:
    tokenizer = facts.get("tokenizer") or {}
    if tokenizer.get("status") != "built":
        return None, f"the tokenizer: {tokenizer.get('reason') or 'not built'}"
    found = vocabulary_mismatches(facts)
    if found:
        role, vocab, wanted = found[0]
        return True, f"IndexError: index out of range in self (the {role} model embeds {vocab} ids, it gets up to {wanted})"
    return False, "every model embeds every id the tokenizer and the policy produce"


def _pad_token(facts: dict) -> Answer:
    tokenizer = facts.get("tokenizer") or {}
    if tokenizer.get("status") != "built":
        return None, f"the tokenizer: {tokenizer.get('reason') or 'not built'}"
    if tokenizer.get("pad_token") is not None:
        source = "as saved" if tokenizer["saved"]["pad_token"] is not None else "once the script's edits are replayed"
        return False, f"the tokenizer has pad token {tokenizer['pad_token']!r} {source}"
    if tokenizer.get("opaque"):
        return None, "the saved tokenizer has no pad token; the script passes it to " + \
            ", ".join(f"`{name}`" for name in tokenizer["opaque"]) + ", which may add one"
    return True, "ValueError: Asking to pad but the tokenizer does not have a padding token"


def _bf16(facts: dict) -> Answer:
    config = facts.get("config") or {}
    if config.get("status") == "fail" and "bf16" in config.get("error", ""):
        return True, config["error"]
    if config.get("status") == "pass":
        return False, "PPOConfig(...) builds on this interpreter"
    if config.get("status") == "fail":
        return False, f"PPOConfig(...) fails for another reason: {config['error']}"
    return None, config.get("reason") or "the config was not checked"


CHECKS: dict[str, Callable[[dict], Answer]] = {
    "PPD101": _value_missing, "PPD102": _value_missing, "PPD103": _value_not_classifier,
    "PPD104": _reward_not_classifier, "PPD105": _num_labels, "PPD106": _reference_is_policy,
    "PPD107": _value_head_wrapper, "PPD108": _required_argument, "PPD109": _value_not_classifier,
    "PPD301": _pad_token, "PPD501": _unusable_head, "PPD502": _vocabulary, "PPD503": _pad_token,
    "PPD504": _bf16,
}


def reproduces(code: str, facts: Optional[dict]) -> Answer:
    check = CHECKS.get(code)
    if check is None:
        return None, f"the probe has no runtime check for {code}"
    if facts is None:
        return None, "the probe has no facts for this setup"
    return check(facts)

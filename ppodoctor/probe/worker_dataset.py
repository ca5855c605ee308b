"""The worker's dataset half: the first batch of `train_dataset` through TRL's own collator.

PPOTrainer (trl 0.12 - 1.12) batches the training dataset with `DataCollatorWithPadding(processing_class)`.
When the source shows the dataset whole (`Dataset.from_dict(...)` / `Dataset.from_list(...)` of literal rows,
then `.map` with a lambda that reads only the tokenizer, and column methods with literal arguments), this
rebuilds it with the real `datasets` library and the tokenizer the worker loaded, and hands its first rows
to that collator: the failure it raises is the one `train()` meets on its first batch. Anything else (a
dataset read from files or the hub, a function defined elsewhere, an in-place change) is unchecked, with
the reason.

Runs inside the user's interpreter (see worker.py): the standard library, datasets and transformers only.
"""

from __future__ import annotations

import ast

from probe_checks import Built, Status
from worker import check_result, error_text, keyword_map

_BUILDERS = ("from_dict", "from_list")
# `map` keywords that do not change what a row becomes here (a process pool, a progress bar, the cache).
_MAP_INCIDENTAL = ("num_proc", "desc", "load_from_cache_file", "keep_in_memory")
# Names a mapped lambda may read besides its parameters and the tokenizer.
_SAFE_BUILTINS = {"len": len, "str": str, "list": list, "dict": dict, "int": int, "min": min, "max": max}
ROWS = 2  # the first batch: PPO's smallest per-device batch that pads


class Unfollowed(Exception):
    """The dataset cannot be rebuilt from what the source shows; the message says why."""


def first_batch_check(setup: dict, tokenizer, tokenizer_facts: dict) -> dict:
    binding = next((b for b in setup["roles"] if b["role"] == "train_dataset"), None)
    if binding is None:
        return check_result(Status.UNCHECKED, reason="no train_dataset")
    if any(b["role"] == "data_collator" for b in setup["roles"]):
        return check_result(Status.UNCHECKED, reason="the script passes its own data collator")
    if tokenizer is None or tokenizer_facts.get("status") != Built.BUILT:
        return check_result(Status.UNCHECKED, reason="the tokenizer could not be loaded: "
                                                     + (tokenizer_facts.get("reason") or "no tokenizer"))
    tokenizer_names = {name for name in (_tokenizer_text(setup), _tokenizer_variable(setup)) if name}
    try:
        dataset = rebuild(binding["origin"], {name: tokenizer for name in tokenizer_names})
    except Unfollowed as why:
        return check_result(Status.UNCHECKED, reason=str(why))
    except Exception as error:  # the script's own map fails: train() never gets a batch
        return check_result(Status.UNCHECKED, reason=f"rebuilding the dataset fails: {error_text(error)}")
    from transformers import DataCollatorWithPadding

    rows = [dataset[i] for i in range(min(ROWS, len(dataset)))]
    try:
        DataCollatorWithPadding(tokenizer)(rows)
    except Exception as error:
        return dict(check_result(Status.FAIL, error=error_text(error)), columns=list(dataset.column_names))
    return dict(check_result(Status.PASS), columns=list(dataset.column_names))


def _tokenizer_text(setup: dict) -> str:
    binding = next((b for b in setup["roles"] if b["role"] == "processing_class"), None)
    return binding["text"] if binding is not None and binding["text"].isidentifier() else ""


def _tokenizer_variable(setup: dict) -> str:
    binding = next((b for b in setup["roles"] if b["role"] == "processing_class"), None)
    return (binding["origin"].get("variable") or "") if binding is not None else ""


def rebuild(origin: dict, names: dict):
    """The dataset `origin` makes, built with the real library; Unfollowed where the source does not show it."""
    import datasets

    changed = [op for op in origin.get("operations") or () if op["kind"] != "passed" or op.get("conditional")
               or not _harmless(op["name"])]
    if changed:
        raise Unfollowed(f"`{origin.get('text')}` may be changed in place (by `{changed[0]['name']}`)")
    kind, callee = origin["kind"], origin.get("callee") or ""
    if kind == "call" and callee.startswith("datasets.") and callee.rsplit(".", 1)[-1] in _BUILDERS:
        data = (origin.get("args") or [{}])[0]
        if len(origin.get("args") or ()) != 1 or origin.get("keywords") or data.get("kind") != "literal":
            raise Unfollowed(f"`{origin.get('text')}` is not built from literal rows alone")
        return getattr(datasets.Dataset, callee.rsplit(".", 1)[-1])(data["value"])
    if kind != "method" or not origin.get("base"):
        shown = origin.get("text") or kind
        raise Unfollowed(f"the dataset `{shown}` is not built from literal rows the source shows")
    base = rebuild(origin["base"], names)
    args, keywords = origin.get("args") or [], keyword_map(origin)
    if callee == "map":
        return _map(base, origin, args, keywords, names)
    if callee in ("remove_columns", "select_columns", "rename_column", "select", "take", "shuffle") \
            and all(a.get("kind") == "literal" for a in args) and not keywords:
        return getattr(base, callee)(*[a["value"] for a in args])
    raise Unfollowed(f"`.{callee}(...)` on the dataset is not followed")


def _harmless(callee: str) -> bool:
    """A callee the dataset may be handed to unchanged: the trainer, or a builtin that only reads it (a
    helper of the script's may change it in place: `set_format`, `set_transform`)."""
    last = callee.rsplit(".", 1)[-1]
    return last.endswith("Trainer") or last in ("print", "len", "repr", "str", "iter", "isinstance", "type", "id")


def _map(base, origin: dict, args: list, keywords: dict, names: dict):
    function = args[0] if args else keywords.get("function")
    if function is None or len(args) > 1:
        raise Unfollowed(f"`{origin.get('text')}`: the mapped function is not its one positional argument")
    options = {}
    for name, value in keywords.items():
        if name in ("function",) + _MAP_INCIDENTAL:
            continue
        if name not in ("batched", "remove_columns", "batch_size") or value.get("kind") != "literal":
            raise Unfollowed(f"`{name}={value.get('text')}` in `.map(...)` is not followed")
        options[name] = value["value"]
    return base.map(_lambda(function, names), **options)


def _lambda(value: dict, names: dict):
    """The mapped function, when it is a lambda that reads nothing but its parameters, the tokenizer and a
    few pure builtins: evaluated with exactly those."""
    text = value.get("text") or ""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        tree = None
    if tree is None or not isinstance(tree.body, ast.Lambda):
        raise Unfollowed(f"the mapped function `{text}` is not a lambda written in the call")
    own = {arg.arg for arg in ast.walk(tree.body) if isinstance(arg, ast.arg)} | {
        node.id for node in ast.walk(tree.body) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    read = {node.id for node in ast.walk(tree.body.body) if isinstance(node, ast.Name)} - own
    unknown = sorted(read - set(names) - set(_SAFE_BUILTINS))
    if unknown:
        raise Unfollowed(f"the mapped function `{text}` reads {', '.join(unknown)}, which the probe does not have")
    return eval(compile(tree, "<train_dataset.map>", "eval"), {"__builtins__": dict(_SAFE_BUILTINS), **names})

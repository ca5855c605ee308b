"""The astroid side of benchmarks/evaluator_choice.py: the same questions asked of pylint's inference engine.

astroid is not a dependency of ppodoctor: install it for the benchmark only (locks/bench-astroid.txt),
e.g. `pip install --no-deps --target /tmp/astroid-site -r locks/bench-astroid.txt`, and hand the
benchmark `--astroid-path /tmp/astroid-site`.

Two variants:
- `plain`: astroid as it comes, with transformers and TRL installed for it to follow. A model built by
  `AutoModelForCausalLM.from_pretrained(...)` infers through transformers' own code, which astroid
  cannot follow to a class (the auto classes pick theirs from a mapping at run time): Uninferable.
- `brain`: what building on astroid would mean for us: one inference tip of our own (astroid's way
  of teaching it a library, as its stdlib "brains" do) that reads `X.from_pretrained(...)` /
  `X.from_config(...)` as an instance of whatever class `X` infers to, remembering the call that made
  it (identity: two roles inferred to one module-level call are one object; to two calls, two objects)
  and its `num_labels` keyword as astroid infers it (`**options` through astroid's CallSite).
Everything else (names, functions, closures, classes, functools' partial and lru_cache, imports of the
script's own modules) is astroid's own inference.
"""

from __future__ import annotations

from itertools import combinations

ROLE_KEYWORDS = {"model": "policy", "policy": "policy", "ref_model": "reference", "ref_policy": "reference",
                 "reward_model": "reward", "value_model": "value"}
ROLES = ("policy", "reference", "reward", "value")
TRAINERS = ("PPOTrainer", "PPOv2Trainer")
BUILDERS = ("from_pretrained", "from_config")


def available() -> str:
    """"" when astroid imports, else why not."""
    try:
        import astroid  # noqa: F401
    except ImportError as error:
        return f"astroid is not importable ({error}); install locks/bench-astroid.txt and pass --astroid-path"
    return ""


def install_brain() -> None:
    import astroid
    from astroid import nodes

    def is_builder(call) -> bool:
        return isinstance(call.func, nodes.Attribute) and call.func.attrname in BUILDERS

    def built(call, context=None):
        for receiver in call.func.expr.infer(context=context):
            if isinstance(receiver, nodes.ClassDef):
                instance = astroid.bases.Instance(receiver)
                instance.ppd_call = call
                instance.ppd_num_labels = _keyword_int(call, "num_labels", context)
                yield instance
            else:
                yield astroid.Uninferable

    astroid.MANAGER.register_transform(nodes.Call, astroid.inference_tip(built), is_builder)


def _keyword_int(call, name: str, context):
    from astroid import arguments, nodes

    try:
        value = arguments.CallSite.from_call(call, context).keyword_arguments.get(name)
        if value is None:
            return None
        inferred = list(value.infer(context=context))
    except Exception:  # noqa: BLE001 - astroid's inference errors are its "unknown"
        return None
    if len(inferred) == 1 and isinstance(inferred[0], nodes.Const) and isinstance(inferred[0].value, int):
        return inferred[0].value
    return None


def _trainer_init(callee):
    """The `__init__` of a PPO trainer class (or of a subclass of one), else None."""
    from astroid import nodes

    if not isinstance(callee, nodes.ClassDef):
        return None
    names = {callee.name} | {ancestor.name for ancestor in callee.ancestors()}
    if not names & set(TRAINERS):
        return None
    try:
        return next(callee.igetattr("__init__"))
    except Exception:  # noqa: BLE001
        return None


def _infer_one(node):
    """The values astroid infers for node, or None when any is Uninferable (or inference fails)."""
    import astroid

    try:
        values = list(node.infer())
    except Exception:  # noqa: BLE001 - InferenceError, and astroid's own recursion limits
        return None
    if not values or any(value is astroid.Uninferable for value in values):
        return None
    return values


def _kind(values, class_kind) -> str | None:
    from astroid import bases, nodes

    kinds = set()
    for value in values:
        if isinstance(value, nodes.Const) and value.value is None:
            kinds.add("none")
        elif isinstance(value, bases.Instance) and not isinstance(value, nodes.Const):
            kinds.add(class_kind(value._proxied.qname()).value)
        else:
            kinds.add("unknown")
    return kinds.pop() if len(kinds) == 1 and "unknown" not in kinds else None


def _same(first, second) -> bool | None:
    """Identity from the calls the brain remembers: one module-level call is one object."""
    if first is None or second is None or len(first) != 1 or len(second) != 1:
        return None
    a, b = getattr(first[0], "ppd_call", None), getattr(second[0], "ppd_call", None)
    if a is None or b is None:
        return None
    if a is not b:
        return False
    return True if a.scope() is a.root() else None


def answers_for(path: str, class_kind) -> dict:
    """{"kind": {role: kind}, "same": {"a=b": bool}, "num_labels": {role: int}} for the file's first PPO
    trainer call astroid recognises (None where it cannot tell); {} when it finds none."""
    import astroid
    from astroid import arguments, nodes

    module = astroid.MANAGER.ast_from_file(path, "__main__", source=True)
    for call in module.nodes_of_class(nodes.Call):
        if "trainer" not in call.func.as_string().lower():
            continue  # inferring every call's callee would cost minutes more; a trainer is named so
        callees = _infer_one(call.func) or []
        init = next((found for found in map(_trainer_init, callees) if found is not None), None)
        if init is None:
            continue
        site = arguments.CallSite.from_call(call)
        parameters = [argument.name for argument in init.args.args][1:]
        bound = dict(zip(parameters, site.positional_arguments))
        bound.update(site.keyword_arguments)
        stars_unknown = site.has_invalid_arguments() or site.has_invalid_keywords()
        inferred, kinds, labels = {}, {}, {}
        for keyword, role in ROLE_KEYWORDS.items():
            if keyword in bound:
                inferred[role] = _infer_one(bound[keyword])
                kinds[role] = _kind(inferred[role], class_kind) if inferred[role] else None
                numbers = {getattr(value, "ppd_num_labels", None) for value in inferred[role] or ()}
                labels[role] = numbers.pop() if len(numbers) == 1 else None
            elif keyword in parameters + [arg.name for arg in init.args.kwonlyargs] and not stars_unknown:
                kinds.setdefault(role, "none")
        same = {f"{a}={b}": _same(inferred.get(a), inferred.get(b)) for a, b in combinations(ROLES, 2)}
        return {"kind": kinds, "same": same, "num_labels": labels}
    return {}

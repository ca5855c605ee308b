"""What a training dataset visibly holds: its columns (and which hold text) and at most how many rows.

Read off a dataset's Origin chain (`Dataset.from_dict({...})`, `load_dataset(...)`, then `.map`,
`.select`, `.remove_columns`, ...). Anything the source does not show makes the answer unknown
(None): the dataset rules (PPD404, PPD405) stay silent then, since a false alarm on a correct script
is worse than a miss.
"""

from __future__ import annotations

from typing import Optional

from ..records import Record, record
from ..setup.model import Origin, Value
from ..types import OperationKind, OriginKind, ValueKind

TEXT = "text"  # every value is a str: the default collator cannot make a tensor of it
IDS = "ids"  # lists of ints (input_ids as PPOTrainer wants them)
OTHER = "other"  # anything else, or a type the source does not show

# Builders of `load_dataset` that read local files: their columns are whatever the files hold.
_FILE_BUILDERS = frozenset({"json", "csv", "parquet", "text", "arrow", "pandas", "webdataset", "imagefolder",
                            "audiofolder", "sql", "generator"})
# Methods that keep the columns and can only drop rows (or keep their number).
_SAME_COLUMNS = frozenset({"filter", "shuffle", "sort", "shard", "skip", "take", "select", "train_test_split",
                           "cast_column"})
# In-place calls on a dataset that change neither its columns nor its rows.
_HARMLESS_CALLS = frozenset({"cleanup_cache_files", "info", "to_pandas", "save_to_disk", "push_to_hub"})
# Callees a dataset may be handed to without being changed (a dataset changes only through its own
# in-place methods, which an unknown helper might call).
_HARMLESS_CALLEES = frozenset({"print", "len", "repr", "str", "iter", "isinstance", "type", "id"})


@record
class Columns(Record):
    """The columns a dataset visibly has. hub_text: it also has text columns not named in the source
    (a hub dataset loaded as it is: those hold raw text, never `input_ids`)."""

    named: tuple[tuple[str, str], ...] = ()  # (column, TEXT/IDS/OTHER), in order
    hub_text: bool = False

    def kinds(self) -> dict:
        return dict(self.named)

    @property
    def has_input_ids(self) -> bool:
        return "input_ids" in self.kinds()

    def text_columns(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.named if kind == TEXT)


def columns(origin: Optional[Origin]) -> Optional[Columns]:
    """The dataset's columns, or None when the source does not show them all."""
    if origin is None or not _untouched(origin):
        return None
    if origin.kind == OriginKind.CALL:
        return _built_columns(origin)
    if origin.kind != OriginKind.METHOD or origin.base is None:
        return None
    base = columns(origin.base)
    if base is None:
        return None
    method = origin.callee
    if method == "__getitem__":
        # `load_dataset(...)["train"]` is a split of a DatasetDict; on a Dataset it would be a column.
        inner = origin.base
        splits = inner.kind == OriginKind.CALL and _is_load_dataset(inner) and inner.keyword("split") is None or \
            inner.kind == OriginKind.METHOD and inner.callee == "train_test_split"
        return base if splits and origin.args and isinstance(origin.args[0].value, str) else None
    if method in _SAME_COLUMNS:
        return base
    if method == "remove_columns":
        removed = _names(origin.args[0] if origin.args else _keyword(origin, "column_names"))
        return None if removed is None else _drop(base, removed)
    if method == "select_columns":
        kept = _names(origin.args[0] if origin.args else _keyword(origin, "column_names"))
        if kept is None or base.hub_text:
            return None
        kinds = base.kinds()
        return Columns(tuple((name, kinds[name]) for name in kept if name in kinds)) \
            if all(name in kinds for name in kept) else None
    if method == "rename_column" and len(origin.args) == 2:
        old, new = (arg.value if arg.kind == ValueKind.LITERAL else None for arg in origin.args)
        if not isinstance(old, str) or not isinstance(new, str) or base.hub_text and old not in base.kinds():
            return None
        return Columns(tuple((new if name == old else name, kind) for name, kind in base.named), base.hub_text)
    if method == "map":
        return _mapped(origin, base)
    return None


def max_rows(origin: Optional[Origin]) -> Optional[int]:
    """At most how many rows the dataset has (filtering only drops rows), or None when unknown."""
    if origin is None or not _untouched(origin):
        return None
    if origin.kind == OriginKind.CALL:
        return _built_rows(origin)
    if origin.kind != OriginKind.METHOD or origin.base is None:
        return None
    method = origin.callee
    if method == "select" and origin.args:
        chosen = _count(origin.args[0])
        base = max_rows(origin.base)
        return chosen if base is None or chosen is None else min(chosen, base)
    if method == "take" and origin.args and origin.args[0].kind == ValueKind.LITERAL and type(origin.args[0].value) is int:
        base = max_rows(origin.base)
        return origin.args[0].value if base is None else min(origin.args[0].value, base)
    base = max_rows(origin.base)
    if method in ("filter", "shuffle", "sort", "remove_columns", "select_columns", "rename_column",
                  "rename_columns", "cast_column", "shard"):
        return base
    if method == "map" and not _batched(origin):
        return base  # one row in, one row out
    return None


# --- the sources of a dataset ---------------------------------------------------------------------
def _is_load_dataset(origin: Origin) -> bool:
    return origin.callee.rsplit(".", 1)[-1] == "load_dataset" and origin.callee.split(".")[0] == "datasets"


def _built_columns(origin: Origin) -> Optional[Columns]:
    last = origin.callee.rsplit(".", 1)[-1]
    if origin.callee.split(".")[0] != "datasets" or origin.partial:
        return None
    if last == "load_dataset":
        return Columns((), True) if _hub_dataset(origin) else None
    rows = _literal_rows(origin)
    if rows is None:
        return None
    return Columns(tuple((name, _kind(values)) for name, values in rows.items()))


def _built_rows(origin: Origin) -> Optional[int]:
    rows = _literal_rows(origin) if origin.callee.split(".")[0] == "datasets" and not origin.partial else None
    if not rows:
        return None
    counts = {len(values) for values in rows.values()}
    return counts.pop() if len(counts) == 1 else None


def _literal_rows(origin: Origin) -> Optional[dict]:
    """`Dataset.from_dict({"col": [...]})` / `Dataset.from_list([{...}, ...])` with literal contents."""
    last = origin.callee.rsplit(".", 1)[-1]
    data = origin.args[0] if origin.args else _keyword(origin, "mapping")
    if data is None or data.kind != ValueKind.LITERAL or len(origin.args) > 1 \
            or any(keyword.name != "mapping" for keyword in origin.keywords):
        return None  # features=, info=, ...: not followed
    if last == "from_dict" and isinstance(data.value, dict) and data.value \
            and all(isinstance(v, tuple) for v in data.value.values()):
        return dict(data.value)
    if last == "from_list" and isinstance(data.value, tuple) and data.value \
            and all(isinstance(row, dict) for row in data.value):
        keys = list(data.value[0])
        if any(list(row) != keys for row in data.value):
            return None
        return {key: tuple(row[key] for row in data.value) for key in keys}
    return None


def _hub_dataset(origin: Origin) -> bool:
    """`load_dataset("org/name", ...)` of a hub dataset: no data files, no local builder or path."""
    path = origin.args[0] if origin.args else _keyword(origin, "path")
    if path is None or path.kind != ValueKind.LITERAL or not isinstance(path.value, str):
        return False
    name = path.value
    if origin.keyword("data_files", "data_dir") is not None or name.lower() in _FILE_BUILDERS:
        return False
    if "." in path.text and not path.text.startswith(("'", '"')):
        return False  # `args.dataset_name`: a default the command line may replace with a tokenized dataset
    local = name.startswith((".", "/", "~")) or name.endswith((".py", ".json", ".csv", ".parquet", ".jsonl"))
    return not local and name.count("/") == 1


def _kind(values: tuple) -> str:
    if values and all(isinstance(v, str) for v in values):
        return TEXT
    if values and all(isinstance(v, tuple) and all(type(i) is int for i in v) for v in values):
        return IDS
    return OTHER


# --- the steps of a chain -------------------------------------------------------------------------
def _untouched(origin: Origin) -> bool:
    """No in-place call that may change the dataset (`set_format(columns=...)`, `set_transform`, a
    helper it is handed to) and no step that may not run."""
    return all(not op.conditional and (op.kind == OperationKind.CALL and (op.name in _HARMLESS_CALLS or _format_only(op))
                                       or op.kind == OperationKind.PASSED and _harmless_callee(op.name))
               for op in origin.operations)


def _format_only(operation) -> bool:
    """`ds.set_format("torch")`: the type rows come back as, every column kept (no `columns=`)."""
    return operation.name == "set_format" and len(operation.args) <= 1 and not operation.keywords


def _harmless_callee(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last in _HARMLESS_CALLEES or last.endswith("Trainer")


def _mapped(origin: Origin, base: Columns) -> Optional[Columns]:
    function = origin.args[0] if origin.args else _keyword(origin, "function")
    if function is None or function.kind != ValueKind.FUNCTION or not function.value or len(origin.args) > 1:
        return None  # a function whose returned keys cannot be read, or positional options not followed
    removed_value = _keyword(origin, "remove_columns")
    kept = base
    if removed_value is not None and not removed_value.is_literal(None):
        removed = _names(removed_value)
        if removed is None:
            return None
        kept = _drop(base, removed)
        if kept is None:
            return None
    # Columns the function returns replace those of the same name; their types are not visible.
    added = tuple(function.value)
    named = tuple((name, kind) for name, kind in kept.named if name not in added) + \
        tuple((name, IDS if name == "input_ids" else OTHER) for name in added)
    return Columns(named, kept.hub_text)


def _drop(base: Columns, removed: tuple[str, ...]) -> Optional[Columns]:
    if base.hub_text:
        return None  # which of the unnamed columns go cannot be told
    kinds = base.kinds()
    if any(name not in kinds for name in removed):
        return None  # datasets raises for a missing column: not this rule's business
    return Columns(tuple((name, kind) for name, kind in base.named if name not in removed))


def _names(value: Optional[Value]) -> Optional[tuple[str, ...]]:
    if value is None or value.kind != ValueKind.LITERAL:
        return None
    if isinstance(value.value, str):
        return (value.value,)
    if isinstance(value.value, tuple) and all(isinstance(v, str) for v in value.value):
        return value.value
    return None


def _count(value: Value) -> Optional[int]:
    if value.kind == ValueKind.RANGE:
        start, stop, step = value.value
        return len(range(start, stop, step))
    if value.kind == ValueKind.LITERAL and isinstance(value.value, tuple):
        return len(value.value)
    return None


def _batched(origin: Origin) -> bool:
    keyword = origin.keyword("batched")
    return keyword is not None and not keyword.value.is_literal(False)


def _keyword(origin: Origin, name: str) -> Optional[Value]:
    keyword = origin.keyword(name)
    return keyword.value if keyword is not None else None

"""`@record`: a frozen dataclass that is cheaper to define.

On Python 3.11 `@dataclass(frozen=True)` compiles six methods per class with exec, about half a
millisecond a class, and `ppodoctor check` defines dozens of them before its first diagnostic: a
noticeable part of a run that should start about as fast as libcst imports. `record` has dataclass
compile only __init__ and takes the rest from `Record`, which reads the class's field names,
computed once: __eq__, __hash__ and __repr__ behave as the generated ones do, and __setattr__ /
__delattr__ raise FrozenInstanceError as a frozen dataclass does, except that __init__ may set
each field once. The result is a dataclass: fields(), replace(), asdict() and is_dataclass() work.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

_T = TypeVar("_T", bound=type)


class Record:
    """Equality, hash and repr over the fields, as `@dataclass(frozen=True)` generates them."""

    __slots__ = ()
    # Field names, set by `record` (left unannotated so that get_type_hints sees only the fields).
    __record_compared__ = ()
    __record_hashed__ = ()
    __record_shown__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        # The generated __init__ assigns each field once; after that the instance is read-only.
        if name in self.__dict__ or name not in self.__dataclass_fields__:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = self.__record_compared__
        return tuple(getattr(self, name) for name in names) == tuple(getattr(other, name) for name in names)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__record_hashed__))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
        return f"{self.__class__.__qualname__}({shown})"


def record(cls: _T) -> _T:
    """Make `cls` (which must derive from Record) a frozen dataclass with Record's methods."""
    if not issubclass(cls, Record):
        raise TypeError(f"{cls.__name__} must derive from Record")
    cls = dataclasses.dataclass(eq=False, repr=False)(cls)
    fields = dataclasses.fields(cls)
    cls.__record_compared__ = tuple(field.name for field in fields if field.compare)
    cls.__record_hashed__ = tuple(field.name for field in fields
                                  if (field.compare if field.hash is None else field.hash))
    cls.__record_shown__ = tuple(field.name for field in fields if field.repr)
    return cls

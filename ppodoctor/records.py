"""`@record`: a frozen dataclass that is cheaper to define and to build.

On Python 3.11 `@dataclass(frozen=True)` compiles six methods per class with exec, about half a
millisecond a class, and `ppodoctor check` defines dozens of them before its first diagnostic: a
noticeable part of a run that should start about as fast as libcst imports. `record` has dataclass
compile nothing and takes every method from `Record`, which reads the class's field names,
computed once: __eq__, __hash__ and __repr__ behave as the generated ones do, and __setattr__ /
__delattr__ raise FrozenInstanceError as a frozen dataclass does. __init__ takes the fields'
positional and keyword arguments as the generated one does, and fills the instance's __dict__ in
one step: the setup model builds thousands of records a file, and a generated __init__ of a
frozen-like class pays one Python-level __setattr__ call per field (twice the cost of the build).
The result is a dataclass: fields(), replace(), asdict() and is_dataclass() work.
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
    __record_names__ = ()
    __record_defaults__: dict = {}
    __record_factories__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__record_names__
        values = dict(self.__record_defaults__)
        if args:
            if len(args) > len(names):
                raise TypeError(f"{type(self).__name__}() takes {len(names)} positional arguments but "
                                f"{len(args)} were given")
            values.update(zip(names, args))
        if kwargs:
            if not kwargs.keys() <= self.__dataclass_fields__.keys() or \
                    (args and not kwargs.keys().isdisjoint(names[: len(args)])):
                self._reject(args, kwargs)
            values.update(kwargs)
        for name, factory in self.__record_factories__:
            if name not in values:
                values[name] = factory()
        if len(values) != len(names):
            missing = [name for name in names if name not in values]
            raise TypeError(f"{type(self).__name__}() missing required arguments: {', '.join(missing)}")
        self.__dict__.update(values)

    def _reject(self, args: tuple, kwargs: dict) -> None:
        for name in kwargs:
            if name not in self.__dataclass_fields__:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
            if name in self.__record_names__[: len(args)]:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

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


def _declare(cls: type) -> tuple:
    """Make `cls` a dataclass without generated methods and give it the tables Record.__init__ reads."""
    cls = dataclasses.dataclass(init=False, eq=False, repr=False)(cls)
    fields = dataclasses.fields(cls)
    cls.__record_names__ = tuple(field.name for field in fields)
    cls.__record_defaults__ = {field.name: field.default for field in fields
                               if field.default is not dataclasses.MISSING}
    cls.__record_factories__ = tuple((field.name, field.default_factory) for field in fields
                                     if field.default_factory is not dataclasses.MISSING)
    return cls, fields


def record(cls: _T) -> _T:
    """Make `cls` (which must derive from Record) a frozen dataclass with Record's methods."""
    if not issubclass(cls, Record):
        raise TypeError(f"{cls.__name__} must derive from Record")
    cls, fields = _declare(cls)
    cls.__record_compared__ = tuple(field.name for field in fields if field.compare)
    cls.__record_hashed__ = tuple(field.name for field in fields
                                  if (field.compare if field.hash is None else field.hash))
    cls.__record_shown__ = tuple(field.name for field in fields if field.repr)
    return cls


class State:
    """The working state of a walk: fields declared as a dataclass declares them, built as a Record
    is (no generated method to compile), mutable and compared by identity."""

    __record_names__ = ()
    __record_defaults__: dict = {}
    __record_factories__ = ()
    __init__ = Record.__init__
    _reject = Record._reject


def state(cls: _T) -> _T:
    """Make `cls` (which must derive from State) a dataclass whose __init__ is State's."""
    if not issubclass(cls, State):
        raise TypeError(f"{cls.__name__} must derive from State")
    return _declare(cls)[0]

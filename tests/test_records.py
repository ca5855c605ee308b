"""`@record` behaves as `@dataclass(frozen=True)` where it shows: equality, hash, repr, immutability."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Optional

import pytest

from ppodoctor.records import Record, record


@record
class Point(Record):
    """A record under test."""

    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    tags: tuple = ()
    inner: Optional["Point"] = None


@dataclass(frozen=True)
class Reference:
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    tags: tuple = ()
    inner: Optional["Reference"] = None


def test_equality_hash_and_repr_match_a_frozen_dataclass():
    a, b = Point(1, 2, "a", (3,), Point(4)), Point(1, 2, "b", (3,), Point(4))
    assert a == b and hash(a) == hash(b)  # label takes no part, as compare=False says
    assert a != Point(1, 3) and Point(1) != Reference(1)
    assert len({a, b, Point(1, 3)}) == 2
    expected = repr(Reference(1, 2, "a", (3,), Reference(4))).replace("Reference", "Point")
    assert repr(a) == expected


def test_fields_cannot_change_after_construction():
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.other = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y
    assert point.x == 1


def test_dataclass_tools_work():
    point = Point(1, 2, tags=("t",))
    assert dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "label", "tags", "inner"]
    assert dataclasses.replace(point, y=7) == Point(1, 7, tags=("t",))
    assert dataclasses.asdict(point)["tags"] == ("t",)
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.deepcopy(point) == point


def test_only_records_can_be_made():
    with pytest.raises(TypeError):
        @record
        class NotARecord:
            x: int


def test_construction_checks_arguments_as_the_generated_init_does():
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    assert Point(1).tags == () and Point(1).inner is None
    for bad in (lambda: Point(), lambda: Point(1, 2, "l", (), None, 6), lambda: Point(1, z=3),
                lambda: Point(1, x=2)):
        with pytest.raises(TypeError):
            bad()


@record
class WithFactory(Record):
    """A record whose default is made afresh for each instance."""

    items: tuple = ()
    made: list = field(default_factory=list)


def test_default_factories_make_a_value_per_instance():
    a, b = WithFactory(), WithFactory()
    assert a.made == [] and a.made is not b.made
    assert WithFactory(made=[1]).made == [1]

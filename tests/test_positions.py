"""setup.positions gives PositionProvider's exact ranges, and each expression's code, for less."""

from __future__ import annotations

import libcst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from ppodoctor.setup.positions import Positions

from conftest import FIXTURES

TRICKY = [
    "x = (  # comment\n    f(a,\n      b)  )\n",
    "def f():\n\tif a:\n\t\treturn g(\n\t\t\t1)\n",
    "s = 'é' + \"ü\"; t = (s)\r\nu = [*s, {**d}]\r\n",
    "class A(B, metaclass=M):\n    x: int = field(default=1)\n    @dec(2)\n    def m(self, y=(1, 2)):\n"
    "        return lambda z: (z if y else -z)\n",
    "a = b if c else d\nwith open(p) as (h):\n    pass\nmatch v:\n    case [1, *rest]:\n        pass\n",
    "x = f'{a!r:>{width}}' 'tail'\ny = not (a and b) or c[1:2, ::3]\n",
    "\n\n# only comments\n",
    "",
]
SOURCES = TRICKY + [path.read_text(encoding="utf-8", errors="replace") for path in sorted(FIXTURES.rglob("*.py"))
                    if "bom" not in path.parts]


@pytest.mark.parametrize("source", SOURCES, ids=range(len(SOURCES)))
def test_ranges_and_texts_are_position_providers_and_code_for_nodes(source):
    module = libcst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = Positions(module)
    assert positions.code == module.code
    assert set(positions) == set(expected)
    for node, code_range in expected.items():
        assert positions[node] == code_range, (type(node).__name__, module.code_for_node(node))
        assert positions.start(node) == (code_range.start.line, code_range.start.column)
        if isinstance(node, libcst.BaseExpression):
            assert positions.text(node, module) == module.code_for_node(node).strip()

"""The library never computes in the caller's decimal context (adr/0012).

Every operation below runs inside a 3-digit context that traps Inexact and Rounded: a Decimal
+, -, abs(), normalize() or quantize() left in the current (default) context raises at once.
The AST check keeps the arithmetic idioms that used the default context out of the library.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import persistence as p
from persistence import numbers
from persistence.model.marshal import from_wire, to_wire
from persistence.testing.models import GADGETS, TALLIES, Address, Gadget, Tally
from persistence.validation import number_text

BIG = Decimal("1234567890123456789012345678.90123456")  # 36 digits
INT = 10**37 + 7


@pytest.fixture(autouse=True)
def tiny_context() -> Iterator[None]:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.traps[decimal.Inexact] = True
        ctx.traps[decimal.Rounded] = True
        yield


def test_the_tiny_context_catches_default_arithmetic() -> None:
    with pytest.raises((decimal.Inexact, decimal.Rounded)):
        _ = BIG + 1


def test_marshalling_and_validation() -> None:
    gadget = Gadget(
        "g1",
        price=BIG,
        weight=0.1,
        count=INT,
        scores={INT, 1, -5},
        address=Address("x"),
        meta={"a": INT},
        extra={"n": BIG, "l": [BIG, Decimal("-1E-130")]},
    )
    item = GADGETS.to_item(gadget)
    assert GADGETS.from_item(item) == gadget
    for value in (
        BIG,
        BIG.copy_negate(),
        INT,
        0.1,
        Decimal("9.9999999999999999999999999999999999999E+125"),
    ):
        assert from_wire(to_wire(value)) == Decimal(number_text(value, "v"))
    with pytest.raises(p.ValidationError):
        number_text(Decimal("1E-131"), "v")


def test_in_memory_add_update_builder_and_counters() -> None:
    store = p.InMemoryStore()
    repo = p.InMemoryRepository(TALLIES, store=store)
    repo.put(Tally("t", total=BIG, count=INT))
    repo.update(tally_id="t").add("total", Decimal("0.00000001")).increment("count").execute()
    assert repo.get(tally_id="t").total == Decimal("1234567890123456789012345678.90123457")

    uow = p.InMemoryUnitOfWork([TALLIES], store=store)
    with uow:
        uow.increment(Tally, {"tally_id": "t"}, "total", BIG)
        uow.increment(Tally, {"tally_id": "t"}, "total", Decimal("0.00000001"))
        uow.increment(Tally, {"tally_id": "t"}, "count", INT)
        uow.commit()
    with uow:
        tally = uow.repository(Tally).get(tally_id="t")
        tally.total = Decimal("0.5")  # a counter change written as ADD of the difference
        tally.note = "seen"
        uow.increment(Tally, {"tally_id": "t"}, "count", -1)  # merged into the same update
        uow.commit()
    got = repo.get(tally_id="t")
    assert (got.total, got.count, got.note) == (Decimal("0.5"), 2 * INT, "seen")


def test_specification_evaluation() -> None:
    gadget = Gadget("g", price=BIG, count=INT, scores={INT, 3})
    spec = (
        (p.attr("price") >= BIG)
        & p.attr("count").between(INT, INT)
        & p.attr("scores").contains(INT)
        & p.attr("price").is_in([Decimal("1"), BIG])
    )
    assert spec.is_satisfied_by(gadget, GADGETS)
    repo = p.InMemoryRepository(GADGETS)
    repo.put(gadget)
    assert [g.gadget_id for g in repo.iterate(spec)] == ["g"]


def test_numbers_module_ignores_the_callers_context() -> None:
    assert numbers.add(BIG, BIG) == Decimal("2469135780246913578024691357.80246912")
    assert numbers.total([INT, INT, 1]) == 2 * INT + 1
    assert numbers.plain(Decimal("12345678901234567890.1000")) == "12345678901234567890.1"


# ----------------------------------------------------------------------------- the AST check

LIBRARY = Path(p.__file__).parent
# Calls that compute in the current context (or change it).
CONTEXT_CALLS = {
    "getcontext",
    "setcontext",
    "localcontext",
    "normalize",
    "quantize",
    "to_integral_value",
    "to_integral_exact",
    "create_decimal",
    "sqrt",
    "fma",
    "scaleb",
}


def _is_decimal_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "Decimal")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "Decimal")
    )


def _offences(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CONTEXT_CALLS:
                yield node.lineno, f"{name}() uses the current decimal context"
            if name in ("abs", "sum") and any(_is_decimal_call(a) for a in node.args):
                yield node.lineno, f"{name}() of a Decimal uses the current decimal context"
        elif isinstance(node, ast.BinOp | ast.AugAssign) and _has_decimal_operand(node):
            yield node.lineno, "Decimal arithmetic in the current decimal context"
        elif (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and _is_decimal_call(node.operand)
        ):
            yield node.lineno, "unary minus/plus rounds in the current decimal context"


def _has_decimal_operand(node: ast.BinOp | ast.AugAssign) -> bool:
    if isinstance(node, ast.AugAssign):
        return _is_decimal_call(node.value)
    return _is_decimal_call(node.left) or _is_decimal_call(node.right)


def test_no_decimal_arithmetic_outside_the_numbers_module() -> None:
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        if path == LIBRARY / "numbers.py" or "testing" in path.relative_to(LIBRARY).parts:
            continue  # the one context; the test support computes expected values
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(LIBRARY)}:{line}: {why}" for line, why in _offences(tree)]
    assert not found, "use persistence.numbers instead:\n" + "\n".join(found)

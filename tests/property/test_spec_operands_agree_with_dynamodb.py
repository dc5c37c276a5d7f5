"""Attribute-against-attribute and size()-against-size() comparisons: is_satisfied_by (and so the
in-memory backend) agrees with what DynamoDB returns.

The operands stay where moto (5.2) evaluates as DynamoDB does:
- `size()` only of attributes always stored (`nums`, `m`): moto answers size() of a missing
  attribute with a ValidationException, where DynamoDB evaluates the comparison as false;
- paths compared with each other are both numbers (`n`, `d`): moto crashes (HTTP 500) ordering a
  number against a string, and orders two BOOLs, where DynamoDB evaluates both as false;
- `=`, `<>` and BETWEEN between two paths are guarded by `attribute_exists` on both: moto finds
  two missing attributes equal (`None == None`), and crashes on a BETWEEN bound that is missing.
  The guard comes first, and moto's AND stops at the first false operand.
The unguarded cases are unit tests (tests/unit/test_specification.py) and the contract
(persistence/testing/contract_specs.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import persistence as p
from persistence.query.specification import Spec

from .strategies import Probe, assert_backends_select, leaf_specs, probes, small_int

OPS = ["==", "!=", "<", "<=", ">", ">="]
NUMBERS = ["n", "d"]
SIZED = ["nums", "m"]


def _compare(left: Any, op: str, right: Any) -> Spec:
    spec: Spec = {
        "==": lambda: left == right,
        "!=": lambda: left != right,
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
    }[op]()
    return spec


@st.composite
def operand_specs(draw: Any) -> Spec:
    kind = draw(st.sampled_from(["path-path", "size-size", "size-path", "path-size", "between"]))
    op = draw(st.sampled_from(OPS))
    if kind == "path-path":
        a, b = draw(st.permutations(NUMBERS))
        spec = _compare(p.attr(a), op, p.attr(b))
        if op in ("==", "!="):
            return p.attr(a).exists() & p.attr(b).exists() & spec
        return spec
    if kind == "size-size":
        a, b = draw(st.permutations(SIZED))
        return _compare(p.attr(a).size(), op, p.attr(b).size())
    if kind == "size-path":
        return _compare(
            p.attr(draw(st.sampled_from(SIZED))).size(), op, p.attr(draw(st.sampled_from(NUMBERS)))
        )
    if kind == "path-size":
        return _compare(
            p.attr(draw(st.sampled_from(NUMBERS))), op, p.attr(draw(st.sampled_from(SIZED))).size()
        )
    a, b = draw(st.permutations(NUMBERS))
    bound = draw(small_int)
    ranged = (
        p.attr(a).between(p.attr(b), bound)
        if draw(st.booleans())
        else p.attr(a).between(bound, p.attr(b))
    )
    return p.attr(a).exists() & p.attr(b).exists() & ranged


specs = st.recursive(
    st.one_of(operand_specs(), operand_specs(), leaf_specs()),
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda t: t[0] & t[1]),
        st.tuples(children, children).map(lambda t: t[0] | t[1]),
        children.map(lambda c: ~c),
    ),
    max_leaves=3,
)


@given(items=st.lists(probes, min_size=1, max_size=8, unique_by=lambda x: x.probe_id), spec=specs)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_path_and_size_operands_on_dynamodb_equal_in_memory_evaluation(
    probes_client: Any, items: list[Probe], spec: Spec
) -> None:
    assert_backends_select(probes_client, items, spec)

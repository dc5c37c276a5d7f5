"""One rule, one place: both backends apply DynamoDB's rules through the same functions.

Part of the behaviour contract (`persistence.testing.contract`): subclass `RulesContract` in a
test module that provides a `harness` fixture. The expression-size rule (4 KB for each
expression) is `persistence.backends.actions.write_expressions` for writes and
`persistence.backends.base.read_expressions` for reads, called by the DynamoDB backend before
it sends a request and by the in-memory store before it performs one, so both refuse the same
request with the same message and send nothing.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import pytest

from .. import errors, limits
from ..backends.actions import (
    AddValue,
    Clause,
    Delete,
    Meaning,
    Put,
    Remove,
    SetValue,
    Update,
    update_expression,
)
from ..query.expressions import ExpressionBuilder
from ..query.specification import attr
from .harness import Harness
from .models import GADGETS_TABLE

_KEY = {"gadget_id": {"S": "g-rules"}}
_MEANING = Meaning(None, {}, "update")


def _oversized_update() -> tuple[Update, str]:
    """An UpdateItem whose UpdateExpression is just over 4 KB, and DynamoDB's refusal of it."""
    clauses: list[Clause] = [SetValue((f"a{i}",), {"N": "1"}) for i in range(400)]
    size = len(update_expression(ExpressionBuilder(), clauses).encode("utf-8"))
    assert size > limits.MAX_EXPRESSION_BYTES
    message = (
        f"the update expression is {size} bytes; DynamoDB allows {limits.MAX_EXPRESSION_BYTES} "
        "(split the specification or the update)"
    )
    return Update(GADGETS_TABLE.name, dict(_KEY), clauses, None, _MEANING), message


def _oversized_condition() -> tuple[Delete, str]:
    """A DeleteItem whose ConditionExpression is just over 4 KB, and the refusal of it."""
    spec = functools.reduce(operator.or_, (attr("count") == i for i in range(400)))
    size = len(ExpressionBuilder().condition(spec).encode("utf-8"))
    assert size > limits.MAX_EXPRESSION_BYTES
    message = (
        f"the condition expression is {size} bytes; DynamoDB allows "
        f"{limits.MAX_EXPRESSION_BYTES} (split the specification or the update)"
    )
    return Delete(GADGETS_TABLE.name, dict(_KEY), spec, _MEANING), message


class RulesContract:
    """DynamoDB's rules applied by both backends through one implementation each."""

    @pytest.mark.parametrize("build", [_oversized_update, _oversized_condition])
    def test_a_write_over_4_kb_is_refused_alike_by_both_backends(
        self, harness: Harness, build: Any
    ) -> None:
        action, message = build()
        backend = harness.backend
        harness.log.clear()
        writes: list[Any] = [
            lambda a: backend.write(a),
            lambda a: backend.write(a, return_values="ALL_NEW"),
            lambda a: backend.transact_write([a], "token-rules-4kb"),
        ]
        for write in writes:
            with pytest.raises(errors.ValidationError) as refused:
                write(action)
            assert str(refused.value) == message
        assert harness.operations() == []
        assert backend.get_item(GADGETS_TABLE.name, _KEY, True) is None

    def test_updated_return_values_hold_only_the_attributes_the_update_names(
        self, harness: Harness
    ) -> None:
        backend = harness.backend
        table = GADGETS_TABLE.name
        stored = {**_KEY, "a": {"S": "old"}, "b": {"N": "1"}, "c": {"S": "kept"}}
        backend.write(Put(table, stored, None, _MEANING))
        clauses: list[Clause] = [SetValue(("a",), {"S": "new"}), Remove(("c",))]
        old = backend.write(
            Update(table, dict(_KEY), clauses, None, _MEANING), return_values="UPDATED_OLD"
        )
        assert old == {"a": {"S": "old"}, "c": {"S": "kept"}}
        added: list[Clause] = [AddValue(("b",), {"N": "2"}), Remove(("a",))]
        new = backend.write(
            Update(table, dict(_KEY), added, None, _MEANING), return_values="UPDATED_NEW"
        )
        assert new == {"b": {"N": "3"}}  # a removed attribute is not in the item after

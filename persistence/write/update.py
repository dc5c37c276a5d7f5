"""The UpdateBuilder: one validated UpdateItem, on its own or in a unit of work.

`repo.update(**key)` returns an UpdateBuilder: a fluent, validated description of one UpdateItem
(SET / REMOVE / ADD / DELETE clauses plus a condition). It checks field names against the
aggregate, converts values with the mapping's field converters, maintains `updated_at`, bumps the
version, keeps derived index key attributes in step with their source fields and refuses what
DynamoDB would refuse (overlapping paths, empty sets, primary key changes) before any request.
The same builder runs on its own (`execute()`, one UpdateItem) or inside a unit of work
(`uow.add_update(builder)`, one action of the transaction).

Conditional failures become the unit of work's typed errors (`cancellation.raise_for_single`),
except that a missing item is NotFound: these writes never loaded the aggregate, so "reload and
retry" (what ConcurrencyConflict says) would not help.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Generic, Literal, Self, TypeVar, cast, overload

from .. import limits
from ..backends.actions import (
    AddValue,
    Clause,
    DeleteFromSet,
    ListAppend,
    Meaning,
    Remove,
    SetIfNotExists,
    SetValue,
    Update,
    check_write_expressions,
)
from ..backends.base import Backend
from ..errors import NotFound, ValidationError
from ..model.mapping import Mapping, epoch_seconds
from ..model.marshal import Item, Wire, to_wire
from ..query.projection import typed_fields
from ..query.specification import Path, Spec, all_of, attr, parse_path, path_text
from ..runtime.steps import Steps, run_sync
from ..validation import attribute_size, check_depth
from .single import ONE, exists_and_own, user_condition, write_one_steps
from .stamps import timestamp

T = TypeVar("T")
R = TypeVar("R")
ReturnValues = Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]
_RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")


# ---------------------------------------------------------------------- the builder


class UpdateCore(Generic[T, R]):
    """What an update builder is without its transport: the fluent, validated description of
    one UpdateItem, built into an `Update` action (`build`) and run as steps
    (`runtime.steps`). `UpdateBuilder` runs it at once (`execute()`); `persistence.aio`'s
    builder awaits it. Every method returns the builder.
    """

    def __init__(
        self,
        mapping: Mapping[T],
        key: MappingABC[str, Any],
        *,
        in_unit_of_work: bool = False,
        clock: typing.Callable[[], datetime] | None = None,
    ) -> None:
        self.mapping = mapping
        self._key_fields = dict(key)
        self._key = mapping.key_from_fields(key)
        self._in_uow = in_unit_of_work
        self._clock = clock or (lambda: datetime.now(UTC))
        self._clauses: list[Clause] = []
        self._assigned: dict[str, Any] = {}  # top-level fields SET (or REMOVEd: None) by value
        self._opaque: set[str] = set()  # fields changed by an operation whose result is unknown
        self._conditions: list[Spec] = []
        self._expected_version: int | None = None
        self._return_values: ReturnValues = "ALL_NEW"

    # -------------------------------------------------------------- operations

    def set(self, field: str, value: Any) -> Self:
        """SET the field (None REMOVEs it: a None field is not stored)."""
        path = self._path(field, "set")
        wire = self._wire(path, value)
        if wire is None:
            return self.remove(field)
        if len(path) == 1:
            self._assigned[str(path[0])] = value
        else:
            self._opaque.add(str(path[0]))
        return self._add(SetValue(path, wire))

    def remove(self, field: str) -> Self:
        """REMOVE the field (or a nested path); it then reads back as None."""
        path = self._path(field, "remove")
        if len(path) == 1:
            self._check_removable(str(path[0]))
            self._assigned[str(path[0])] = None
        else:
            self._opaque.add(str(path[0]))
        return self._add(Remove(path))

    def set_if_not_exists(self, field: str, value: Any) -> Self:
        """SET the field to `value` only where it is not stored yet (`if_not_exists`)."""
        path = self._path(field, "set_if_not_exists")
        wire = self._wire(path, value)
        if wire is None:
            raise ValidationError(f"{self._where(path)}: set_if_not_exists needs a value, not None")
        self._opaque.add(str(path[0]))
        return self._add(SetIfNotExists(path, wire))

    def add(self, field: str, amount: int | float | Decimal) -> Self:
        """ADD a number (atomic; a missing attribute counts as 0)."""
        path = self._path(field, "add")
        if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
            raise ValidationError(f"{self._where(path)}: add needs a number, got {amount!r}")
        if len(path) == 1:
            kind = self._info(str(path[0]), "add").type
            if kind not in (int, float, Decimal):
                raise ValidationError(
                    f"{self._where(path)}: add works on number fields; this one is {kind!r} "
                    "(use add_to_set for sets)"
                )
        wire = self._wire(path, amount)
        assert wire is not None
        self._opaque.add(str(path[0]))
        return self._add(AddValue(path, wire))

    def increment(self, field: str) -> Self:
        """ADD 1 to a number field."""
        return self.add(field, 1)

    def decrement(self, field: str) -> Self:
        """ADD -1 to a number field."""
        return self.add(field, -1)

    def append_to_list(self, field: str, values: Iterable[Any]) -> Self:
        """Append `values` to a list field (`list_append`); a missing list starts empty."""
        return self._list_append(field, values, prepend=False)

    def prepend_to_list(self, field: str, values: Iterable[Any]) -> Self:
        """Insert `values` at the front of a list field (`list_append`); a missing list starts
        empty."""
        return self._list_append(field, values, prepend=True)

    def set_list_element(self, field: str, index: int, value: Any) -> Self:
        """SET field[index]; DynamoDB appends when the index is past the end of the list."""
        path = self._list_path(field, index, "set_list_element")
        element = self._list_wire(path[:-1], [value])["L"][0]
        self._opaque.add(str(path[0]))
        return self._add(SetValue(path, element))

    def remove_from_list_at(self, field: str, index: int) -> Self:
        """REMOVE `field[index]`; the later elements shift down."""
        path = self._list_path(field, index, "remove_from_list_at")
        self._opaque.add(str(path[0]))
        return self._add(Remove(path))

    def add_to_set(self, field: str, values: Iterable[Any]) -> Self:
        """ADD `values` to a set field (members already there stay once)."""
        path = self._path(field, "add_to_set")
        self._opaque.add(str(path[0]))
        return self._add(AddValue(path, self._set_wire(path, values, "add_to_set")))

    def delete_from_set(self, field: str, values: Iterable[Any]) -> Self:
        """DELETE `values` from a set field; a set left empty is removed (reads back empty)."""
        path = self._path(field, "delete_from_set")
        self._opaque.add(str(path[0]))
        return self._add(DeleteFromSet(path, self._set_wire(path, values, "delete_from_set")))

    # -------------------------------------------------------------- conditions and results

    def condition(self, spec: Spec) -> Self:
        """Apply the update only if `spec` holds for the stored item (ConditionFailed if not)."""
        checked = user_condition(self.mapping, spec)
        assert checked is not None
        self._conditions.append(checked)
        return self

    def condition_exists(self, field: str) -> Self:
        """Apply the update only if the field is stored (ConditionFailed if not)."""
        return self.condition(attr(self._condition_path(field)).exists())

    def condition_not_exists(self, field: str) -> Self:
        """Apply the update only if the field is not stored (ConditionFailed if it is)."""
        return self.condition(attr(self._condition_path(field)).not_exists())

    def condition_version(self, version: int) -> Self:
        """Only if the stored version is `version`; the update then stores version + 1
        (ConcurrencyConflict otherwise). A check that left the version alone would let a second
        writer holding the same version overwrite this update."""
        name = self.mapping.version
        if name is None:
            raise ValidationError(
                f"{self.mapping.name} has no version field; name one in Mapping(version=...)"
            )
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValidationError(f"condition_version needs an int, got {version!r}")
        if self._expected_version is not None:
            raise ValidationError("condition_version was already given for this update")
        self._expected_version = version
        return self

    def _set_return_values(self, which: ReturnValues) -> None:
        if which not in _RETURN_VALUES:
            raise ValidationError(
                f"return_values must be one of {list(_RETURN_VALUES)}, not {which!r}"
            )
        self._return_values = which

    # -------------------------------------------------------------- building and running

    def build(self, now: datetime | None = None) -> Update:
        """The Update action (validated); `uow.add_update(builder)` commits it in a transaction."""
        if not self._clauses:
            raise ValidationError(
                f"update of {self.mapping.name} {self._key_fields} has nothing to change"
            )
        stamp = now or self._clock()
        clauses = [*self._clauses, *self._derived_clauses(), *self._system_clauses(stamp)]
        _check_overlaps(self.mapping, clauses)
        conditions = [exists_and_own(self.mapping), *self._conditions]
        version = self.mapping.version
        if self._expected_version is not None and version is not None:
            conditions.append(attr([version]) == self._expected_version)
        meaning = Meaning(
            self.mapping.name,
            dict(self._key_fields),
            "update",
            self._expected_version,
            version if self._expected_version is not None else None,
        )
        action = Update(
            self.mapping.table.name, dict(self._key), clauses, all_of(conditions), meaning
        )
        check_write_expressions(action)
        return action

    def _execute_steps(self) -> Steps[R]:
        """`execute()` for the sans-I/O core (`runtime.steps`)."""
        if self._in_uow:
            raise ValidationError(
                "this builder comes from a unit of work's repository: hand it to "
                "uow.add_update(builder) so it commits with the transaction"
            )
        action = self.build()
        returned = yield from write_one_steps(action, self._return_values)
        return cast(R, self._result(action, returned))

    def _result(self, action: Update, returned: Item | None) -> Any:
        which = self._return_values
        if which == "NONE":
            return None
        if which in ("ALL_NEW", "ALL_OLD"):
            if returned is None:
                raise NotFound(self.mapping.name, self._key_fields)
            return self.mapping.from_item(returned)
        # Both backends return only the updated attributes (backends.actions.updated_attributes).
        return typed_fields(self.mapping, returned or {})

    # -------------------------------------------------------------- validation helpers

    def _add(self, clause: Clause) -> Self:
        self._clauses.append(clause)
        return self

    def _where(self, path: Path) -> str:
        return f"{self.mapping.name}.{path_text(path)}"

    def _path(self, field: str, operation: str) -> Path:
        if not isinstance(field, str):
            raise ValidationError(f"{operation} needs a field name, got {field!r}")
        path = parse_path(field)
        head = str(path[0])
        mapping = self.mapping
        if head not in mapping.field_names:
            raise ValidationError(
                f"{mapping.name} has no field {head!r} (in {operation}); "
                f"fields: {sorted(mapping.field_names)}"
            )
        if head in mapping.key_fields:
            raise ValidationError(
                f"{mapping.name}.{head} is part of the primary key and cannot be updated; a "
                "different key is a different item: delete the aggregate and put a new one"
            )
        if head == mapping.version:
            raise ValidationError(
                f"{mapping.name}.{head} is the version, which the library maintains; use "
                "condition_version(v) to check it (the update then stores v + 1)"
            )
        if head == mapping.ttl and (len(path) > 1 or operation not in ("set", "remove")):
            raise ValidationError(f"{mapping.name}.{head} is the TTL field: set or remove it")
        return path

    def _condition_path(self, field: str) -> Path:
        path = parse_path(field)
        if str(path[0]) not in self.mapping.field_names:
            raise ValidationError(
                f"{self.mapping.name} has no field {path[0]!r}; "
                f"fields: {sorted(self.mapping.field_names)}"
            )
        return path

    def _info(self, name: str, operation: str) -> Any:
        info = self.mapping.converter.fields.get(name)
        if info is None:
            raise ValidationError(f"{self.mapping.name}.{name} cannot be changed by {operation}")
        return info

    def _wire(self, path: Path, value: Any) -> Wire | None:
        """A top-level field's value through its converter; a nested value by its own type."""
        if value is None:
            return None
        name = str(path[0])
        wire: Wire | None
        if len(path) > 1:
            wire = to_wire(value)
        elif name == self.mapping.ttl:
            item = _ttl_item(self.mapping, name, value)
            wire = item[name]
        else:
            wire = self.mapping.converter.field_to_attr(name, value)
        if wire is not None:
            _check_value(self.mapping, path, wire)
        return wire

    def _check_removable(self, name: str) -> None:
        info = self.mapping.converter.fields.get(name)
        if info is None or info.optional or info.has_default or info.converter.is_set:
            return
        raise ValidationError(
            f"{self.mapping.name}.{name} is required (not Optional, no default): removing it "
            "would store an item that cannot be read back as an aggregate"
        )

    def _list_path(self, field: str, index: int, operation: str) -> Path:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValidationError(f"{operation} needs a list index >= 0, got {index!r}")
        return (*self._path(field, operation), index)

    def _list_wire(self, path: Path, values: list[Any]) -> Wire:
        if len(path) > 1:
            nested = to_wire(values)
            _check_value(self.mapping, path, nested)
            return nested
        info = self._info(str(path[0]), "a list operation")
        if info.converter.python not in (list, tuple):
            raise ValidationError(f"{self._where(path)} is not a list field")
        wire = self.mapping.converter.field_to_attr(str(path[0]), values)
        assert wire is not None
        _check_value(self.mapping, path, wire)
        return wire

    def _list_append(self, field: str, values: Iterable[Any], *, prepend: bool) -> Self:
        operation = "prepend_to_list" if prepend else "append_to_list"
        path = self._path(field, operation)
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ValidationError(f"{operation} needs a list of values, got {values!r}")
        wire = self._list_wire(path, list(values))
        self._opaque.add(str(path[0]))
        return self._add(ListAppend(path, wire, prepend))

    def _set_wire(self, path: Path, values: Iterable[Any], operation: str) -> Wire:
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ValidationError(f"{operation} needs a collection of members, got {values!r}")
        members = set(values)
        if not members:
            raise ValidationError(
                f"{self._where(path)}: {operation} needs at least one member (DynamoDB has no "
                "empty sets)"
            )
        if len(path) == 1:
            info = self._info(str(path[0]), operation)
            if not info.converter.is_set:
                raise ValidationError(f"{self._where(path)} is not a set field")
            members_value: Any = (
                frozenset(members) if info.converter.python is frozenset else members
            )
            wire = self.mapping.converter.field_to_attr(str(path[0]), members_value)
        else:
            wire = to_wire(members)
        if wire is None or next(iter(wire)) not in ("SS", "NS", "BS"):
            raise ValidationError(f"{self._where(path)}: set members must be str, numbers or bytes")
        _check_value(self.mapping, path, wire)
        return wire

    # -------------------------------------------------------------- clauses the library adds

    def _system_clauses(self, now: datetime) -> list[Clause]:
        mapping = self.mapping
        out: list[Clause] = []
        updated = mapping.updated_at
        if updated and updated not in self._assigned and updated not in self._opaque:
            wire = mapping.converter.field_to_attr(updated, timestamp(mapping, updated, now))
            assert wire is not None
            out.append(SetValue((updated,), wire))
        version = mapping.version
        if version is None:
            return out
        if self._expected_version is not None:
            out.append(SetValue((version,), {"N": str(self._expected_version + 1)}))
        elif not self._only_counters():
            # A unit of work holding the old version must now conflict instead of overwriting
            # this change; ADD keeps the bump atomic without knowing the stored version.
            out.append(AddValue((version,), ONE))
        return out

    def _only_counters(self) -> bool:
        counters = set(self.mapping.counters)
        return all(
            isinstance(c, AddValue) and len(c.path) == 1 and c.path[0] in counters
            for c in self._clauses
        )

    def _derived_clauses(self) -> list[Clause]:
        """Index key attributes computed from templates follow the fields they are made of."""
        out: list[Clause] = []
        for slot in range(1, len(self.mapping.paths)):
            out.extend(self._index_clauses(slot))
        return out

    def _index_clauses(self, slot: int) -> list[Clause]:
        mapping = self.mapping
        path = mapping.paths[slot]
        templates = [
            (a, t, sort)
            for a, t, sort in ((path.pk_attr, path.pk, False), (path.sk_attr, path.sk, True))
            if a is not None and t is not None
        ]
        fields = {f for _, t, _ in templates for f in t.fields}
        changed = fields & (set(self._assigned) | self._opaque)
        derived = [
            (a, t, sort)
            for a, t, sort in templates
            if a not in mapping.field_names and a not in mapping.table.key_attributes()
        ]
        if not changed or not derived:
            return []
        if changed & self._opaque:
            raise ValidationError(
                f"{mapping.name}: {sorted(changed & self._opaque)} feed the key of index "
                f"{path.index!r}; change them with set() so the index key can follow"
            )
        known = {**self._key_fields, **self._assigned}
        missing = sorted(fields - known.keys())
        if missing:
            raise ValidationError(
                f"{mapping.name}: changing {sorted(changed)} changes the key of index "
                f"{path.index!r}, which also needs {missing}: set them in the same update (or "
                "load the aggregate and save it)"
            )
        index_key = mapping.index_key(slot, SimpleNamespace(**known))
        if index_key is None:
            # A half-written index key is worse than none: the item leaves the sparse index.
            return [Remove((a,)) for a, _, _ in derived]
        return [SetValue((a,), index_key[a]) for a, _, _ in derived]


# ---------------------------------------------------------------------- the blocking builder


class UpdateBuilder(UpdateCore[T, R]):
    """An atomic in-place update of one stored aggregate: `repo.update(account_id="a1")`.

    Every method returns the builder; `execute()` sends one UpdateItem and returns, depending on
    `return_values`, the updated aggregate (ALL_NEW, the default), the aggregate as it was
    (ALL_OLD), a dict of the updated fields' typed values (UPDATED_NEW / UPDATED_OLD) or None.
    The item must exist: an update never creates a partial aggregate (NotFound otherwise).
    """

    def __init__(
        self,
        backend: Backend,
        mapping: Mapping[T],
        key: MappingABC[str, Any],
        *,
        in_unit_of_work: bool = False,
        clock: typing.Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(mapping, key, in_unit_of_work=in_unit_of_work, clock=clock)
        self.backend = backend

    @overload
    def return_values(
        self, which: Literal["ALL_NEW", "ALL_OLD"]
    ) -> UpdateBuilder[T, T]: ...  # pragma: no cover

    @overload
    def return_values(
        self, which: Literal["UPDATED_NEW", "UPDATED_OLD"]
    ) -> UpdateBuilder[T, dict[str, Any]]: ...  # pragma: no cover

    @overload
    def return_values(
        self, which: Literal["NONE"]
    ) -> UpdateBuilder[T, None]: ...  # pragma: no cover

    def return_values(self, which: ReturnValues) -> UpdateBuilder[T, Any]:
        """What `execute()` returns: "ALL_NEW" (the updated aggregate, the default),
        "ALL_OLD" (the aggregate before), "UPDATED_NEW" / "UPDATED_OLD" (a dict of the updated
        fields' typed values after / before) or "NONE" (None).
        """
        self._set_return_values(which)
        return cast(UpdateBuilder[T, Any], self)

    def execute(self) -> R:
        """One UpdateItem; typed errors as in a unit of work (NotFound when the item is missing,
        ConcurrencyConflict for a stale condition_version, ConditionFailed for a condition)."""
        return run_sync(self.backend, self._execute_steps())


# ---------------------------------------------------------------------- helpers


def _ttl_item(mapping: Mapping[Any], name: str, value: Any) -> Item:
    """The TTL field's stored form (epoch seconds), computed by the mapping itself."""
    return {name: {"N": str(epoch_seconds(value, f"{mapping.name}.{name}"))}}


def _check_value(mapping: Mapping[Any], path: Path, wire: Wire) -> None:
    where = f"{mapping.name}.{path_text(path)}"
    # Also refuses text without a UTF-8 encoding, naming where it is.
    size = len(str(path[0]).encode("utf-8")) + attribute_size(wire, where)
    if size > limits.MAX_ITEM_BYTES:
        raise ValidationError(
            f"{where}: the value is {size} bytes; an item holds at most {limits.MAX_ITEM_BYTES}"
        )
    if next(iter(wire)) in ("M", "L"):
        check_depth(wire, where, depth=len(path))


def _check_overlaps(mapping: Mapping[Any], clauses: list[Clause]) -> None:
    """DynamoDB refuses two paths of one update where one is (a prefix of) the other."""
    paths = [c.path for c in clauses]
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            n = min(len(a), len(b))
            if a[:n] == b[:n]:
                raise ValidationError(
                    f"{mapping.name}: this update changes {path_text(a)!r} and {path_text(b)!r}, "
                    "which overlap; DynamoDB refuses overlapping paths in one update: split it "
                    "into two updates"
                )


__all__ = ["ReturnValues", "UpdateBuilder", "UpdateCore"]

"""Where and how an aggregate is stored: Table, GlobalIndex, LocalIndex and Mapping."""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from .. import limits
from ..errors import ValidationError
from ..records import frozen
from ..validation import check_key_value
from .keyid import key_id
from .keys import Key, Template
from .marshal import ClassConverter, Item, Wire, class_converter

T = TypeVar("T")
Projection = Literal["ALL", "KEYS_ONLY"] | Sequence[str]
KeyType = Literal["S", "N", "B"]


@frozen
class GlobalIndex:
    """A global secondary index of a `Table`.

    Args:
        name: the index name.
        partition_key: the attribute holding the index's partition key.
        sort_key: the attribute holding its sort key, if any.
        projection: "ALL", "KEYS_ONLY", or the names of the attributes to project (INCLUDE).
    """

    name: str
    partition_key: str
    sort_key: str | None = None
    projection: Projection = "ALL"

    def __init__(
        self,
        name: str,
        partition_key: str,
        sort_key: str | None = None,
        projection: Projection = "ALL",
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "partition_key", partition_key)
        object.__setattr__(self, "sort_key", sort_key)
        object.__setattr__(self, "projection", projection)


@frozen
class LocalIndex:
    """A local secondary index of a `Table` (which then needs a sort key): the table's
    partition key with another sort key.

    Args:
        name: the index name.
        sort_key: the attribute holding the index's sort key.
        projection: "ALL", "KEYS_ONLY", or the names of the attributes to project (INCLUDE).
    """

    name: str
    sort_key: str
    projection: Projection = "ALL"

    def __init__(self, name: str, sort_key: str, projection: Projection = "ALL") -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "sort_key", sort_key)
        object.__setattr__(self, "projection", projection)


Index = GlobalIndex | LocalIndex


class Table:
    """A DynamoDB table: its key attributes, indexes and TTL attribute.

    Several mappings may share one table (single-table design); every item carries the type
    attribute (`type_attribute`) so reads can tell the aggregates apart.
    """

    def __init__(
        self,
        name: str,
        partition_key: str,
        sort_key: str | None = None,
        indexes: Iterable[Index] = (),
        ttl_attribute: str | None = None,
        type_attribute: str = "_type",
        attribute_types: MappingABC[str, KeyType] | None = None,
    ) -> None:
        if not name:
            raise ValidationError("a table needs a name")
        self.name = name
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.indexes: dict[str, Index] = {}
        for index in indexes:
            if index.name in self.indexes:
                raise ValidationError(f"table {name!r} declares index {index.name!r} twice")
            if isinstance(index, LocalIndex) and sort_key is None:
                raise ValidationError(f"local index {index.name!r} needs a table with a sort key")
            self.indexes[index.name] = index
        self.ttl_attribute = ttl_attribute
        self.type_attribute = type_attribute
        self.declared_attribute_types: dict[str, KeyType] = dict(attribute_types or {})
        self.mappings: list[Mapping[Any]] = []

    def index_keys(self, index_name: str | None) -> tuple[str, str | None]:
        """(partition attribute, sort attribute) of the table (None) or one of its indexes."""
        if index_name is None:
            return self.partition_key, self.sort_key
        index = self.indexes[index_name]
        if isinstance(index, LocalIndex):
            return self.partition_key, index.sort_key
        return index.partition_key, index.sort_key

    def key_attributes(self) -> tuple[str, ...]:
        """The table's key attribute names: (partition key,) or (partition key, sort key)."""
        return (self.partition_key,) + ((self.sort_key,) if self.sort_key else ())

    def attribute_types(self) -> dict[str, KeyType]:
        """Types of every key attribute of the table and its indexes: declared, or inferred from
        the mappings that use the table (templates with literal text are strings)."""
        names = set(self.key_attributes())
        for index_name in self.indexes:
            names.update(a for a in self.index_keys(index_name) if a)
        out: dict[str, KeyType] = {}
        for attr in sorted(names):
            if attr in self.declared_attribute_types:
                out[attr] = self.declared_attribute_types[attr]
                continue
            kind: KeyType = "S"
            for mapping in self.mappings:
                found = mapping.attribute_type(attr)
                if found is not None:
                    kind = found
                    break
            out[attr] = kind
        return out

    def __repr__(self) -> str:
        return f"Table({self.name!r})"


@frozen
class AccessPath:
    """One way to reach items by key: the table itself or one index."""

    index: str | None
    kind: Literal["table", "global", "local"]
    pk_attr: str
    pk: Template
    sk_attr: str | None
    sk: Template | None
    projection: Projection = "ALL"

    def __init__(
        self,
        index: str | None,
        kind: Literal["table", "global", "local"],
        pk_attr: str,
        pk: Template,
        sk_attr: str | None,
        sk: Template | None,
        projection: Projection = "ALL",
    ) -> None:
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "pk_attr", pk_attr)
        object.__setattr__(self, "pk", pk)
        object.__setattr__(self, "sk_attr", sk_attr)
        object.__setattr__(self, "sk", sk)
        object.__setattr__(self, "projection", projection)

    @property
    def label(self) -> str:
        return "table" if self.index is None else f"index {self.index}"


class Mapping(Generic[T]):
    """How one aggregate class is stored in a table.

    `key` and `index_keys` are templates over fields; they are injective (keys.py, ADR 0009):
    a value holding the separator that follows its hole is refused with ValidationError.

    Without `version=`, writes are last-writer-wins: two units of work that load the same
    aggregate and change the same attribute both commit, and the later one silently overwrites
    the earlier one's value (only changed attributes are written, so changes to different
    attributes both survive). That is fine for append-only data, for fields declared in
    `counters` (ADD deltas never lose a count) and for values where the latest one is right. It
    is not fine for anything read, decided on and written back (a balance, a status): name an
    int field as `version` and a stale unit of work raises ConcurrencyConflict instead.

    Args:
        aggregate: the dataclass stored.
        table: the table it is stored in.
        key: the primary key templates (`Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")`);
            without one, the table's key attributes are fields of the aggregate.
        index_keys: key templates per index name, for the indexes this aggregate appears in.
        version: an int field used for optimistic locking (bumped by one on every write).
        counters: numeric fields written as `ADD field :delta` (no version check needed).
        created_at: a field set once, when the aggregate is first written.
        updated_at: a field set on every write.
        ttl: a field (datetime, date or epoch seconds) stored in the table's TTL attribute.
        soft_delete: a field set instead of deleting the item; reads then leave it out.
        events: the field holding pending domain events (never stored); "events" by default.
        type_name: the value of the table's type attribute (default: the class name).
    """

    def __init__(
        self,
        aggregate: type[T],
        table: Table,
        key: Key | None = None,
        index_keys: MappingABC[str, Key] | None = None,
        version: str | None = None,
        counters: Iterable[str] = (),
        created_at: str | None = None,
        updated_at: str | None = None,
        ttl: str | None = None,
        soft_delete: str | None = None,
        events: str | None = "events",
        type_name: str | None = None,
    ) -> None:
        if not dataclasses.is_dataclass(aggregate):
            raise ValidationError(f"{aggregate!r} is not a dataclass")
        self.aggregate = aggregate
        self.table = table
        all_fields = {f.name for f in dataclasses.fields(aggregate)}
        if events == "events" and events not in all_fields:
            events = None  # the default name; an aggregate without events is fine
        self.name = aggregate.__name__
        self.type_name = type_name or aggregate.__name__
        self.events_field = events
        self.version = version
        self.counters = tuple(counters)
        self.created_at = created_at
        self.updated_at = updated_at
        self.ttl = ttl
        self.soft_delete = soft_delete
        self.field_names = frozenset(all_fields - ({events} if events else set()))
        self.converter: ClassConverter = class_converter(
            aggregate, frozenset({events}) if events else frozenset()
        )
        self._check_roles(all_fields)
        self._ttl_type = self.converter.fields[ttl].type if ttl else None
        self.key = self._table_key(key)
        self.paths: list[AccessPath] = self._access_paths(dict(index_keys or {}))
        self._check_templates()
        self.derived_attributes = frozenset(
            a
            for p in self.paths
            for a in (p.pk_attr, p.sk_attr)
            if a is not None and a not in self.field_names
        ) | {table.type_attribute}
        self.key_fields: tuple[str, ...] = self.key.fields
        self._key_slots = [self._slots(p) for p in self.paths]
        self._derive_keys = self._compile_derive_keys()
        # The one change a mapping makes to its table, kept on purpose (adr/0001): the documented
        # `create_table(client, table)` infers key types from the mappings that use the table,
        # and a mapping defined without being kept must still count.
        table.mappings.append(self)

    # ------------------------------------------------------------------ construction steps

    def _check_roles(self, all_fields: set[str]) -> None:
        """Every field named for a role exists, the version is an int and no counter."""
        for role, name in (
            ("version", self.version),
            ("created_at", self.created_at),
            ("updated_at", self.updated_at),
            ("ttl", self.ttl),
            ("soft_delete", self.soft_delete),
            ("events", self.events_field),
            *(("counter", c) for c in self.counters),
        ):
            if name is not None and name not in all_fields:
                raise ValidationError(f"{self.name} has no field {name!r} (named as {role})")
        version = self.version
        if version and typing.get_type_hints(self.aggregate).get(version) is not int:
            raise ValidationError(f"{self.name}.{version}: the version field must be an int")
        for c in self.counters:
            if c == version:
                raise ValidationError(f"{self.name}.{c} cannot be both the version and a counter")

    def _table_key(self, key: Key | None) -> Key:
        """The primary key templates: given, or the table's key attributes as fields."""
        table = self.table
        key = key or self._direct_key(table.partition_key, table.sort_key)
        if key.pk is None:
            raise ValidationError(f"{self.name}: the table key needs a partition key template")
        if (key.sk is None) != (table.sort_key is None):
            raise ValidationError(
                f"{self.name}: table {table.name!r} "
                + ("has a sort key; give Key(sk=...)" if table.sort_key else "has no sort key")
            )
        return key

    def _access_paths(self, declared: dict[str, Key]) -> list[AccessPath]:
        """The table and every index this aggregate appears in (`declared`: index_keys)."""
        table = self.table
        assert self.key.pk is not None
        paths = [
            AccessPath(None, "table", table.partition_key, self.key.pk, table.sort_key, self.key.sk)
        ]
        for index_name, index in table.indexes.items():
            idx_key = declared.pop(index_name, None)
            path = self._index_path(index_name, index, idx_key)
            if path is not None:
                paths.append(path)
        if declared:
            raise ValidationError(
                f"{self.name}: index_keys names {sorted(declared)}, which table "
                f"{table.name!r} does not declare (it has {sorted(table.indexes)})"
            )
        return paths

    def _index_path(self, name: str, index: Index, idx_key: Key | None) -> AccessPath | None:
        """One index's access path, or None when this aggregate does not appear in it."""
        pk_attr, sk_attr = self.table.index_keys(name)
        if isinstance(index, LocalIndex):
            sk_t = idx_key.sk if idx_key and idx_key.sk else self._direct(sk_attr)
            if sk_t is None:
                return None
            assert self.key.pk is not None
            return AccessPath(name, "local", pk_attr, self.key.pk, sk_attr, sk_t, index.projection)
        pk_t = idx_key.pk if idx_key and idx_key.pk else self._direct(pk_attr)
        sk_t = (idx_key.sk if idx_key else None) or (self._direct(sk_attr) if sk_attr else None)
        if pk_t is None or (sk_attr is not None and sk_t is None):
            return None
        return AccessPath(name, "global", pk_attr, pk_t, sk_attr, sk_t, index.projection)

    def _check_templates(self) -> None:
        """Templates name fields only, and a key attribute that is a field is that field."""
        for path in self.paths:
            for template in (path.pk, path.sk):
                if template is None:
                    continue
                for f in template.fields:
                    if f not in self.field_names:
                        raise ValidationError(
                            f"{self.name}: key template {template.text!r} names {f!r}, "
                            f"which is not a field of {self.name}"
                        )
        for p in self.paths:
            for attr, template in ((p.pk_attr, p.pk), (p.sk_attr, p.sk)):
                if (
                    attr in self.field_names
                    and template is not None
                    and template.direct_field != attr
                ):
                    raise ValidationError(
                        f"{self.name}: key attribute {attr!r} is also a field; its template "
                        f"must be '{{{attr}}}', not {template.text!r}"
                    )

    # ------------------------------------------------------------------ construction helpers

    def _slots(
        self, path: AccessPath
    ) -> list[tuple[str, bool, Callable[[Any], str | None] | None, Template | None]]:
        """How to write each key attribute of a path: (attribute, is sort key, compiled
        renderer for text keys or None, template for keys that keep the field's own type)."""
        out: list[tuple[str, bool, Callable[[Any], str | None] | None, Template | None]] = []
        for attr, template, sort in ((path.pk_attr, path.pk, False), (path.sk_attr, path.sk, True)):
            if attr is None or template is None:
                continue
            if attr in self.field_names:
                out.append((attr, sort, None, None))
            elif template.direct_field is not None:
                out.append((attr, sort, None, template))
            else:
                out.append((attr, sort, template.compile(), template))
        return out

    def _compile_derive_keys(self) -> Callable[[Any, Item], bool] | None:
        """to_item's key derivation for the common mapping, generated once: every key attribute
        rendered from a text template. It renders and checks in to_item's own order, and gives
        up (False, nothing written) at the first key that is not a short ASCII string, or is
        None (a sparse index), leaving that item to the general code, which then reports any
        error exactly as it always did. A short ASCII key (1..1024 characters) is within every
        key limit and holds no lone surrogate, so it needs no other check. None when some key
        attribute keeps a field's own type.
        """
        from .marshal.codegen import compile_function

        slots = [slot for path in self._key_slots for slot in path]
        if not slots or any(render is None for _, _, render, _ in slots):
            return None
        env: dict[str, Any] = {}
        lines = ["def derive_keys(obj, item):"]
        for i, (_, _, render, _) in enumerate(slots):
            env[f"r{i}"] = render
            lines.append(f"    t{i} = r{i}(obj)")
            lines.append(
                f"    if t{i} is None or not (0 < len(t{i}) <= {limits.MAX_SORT_KEY_BYTES} "
                f"and t{i}.isascii()): return False"
            )
        for i, (attr, _, _, _) in enumerate(slots):
            lines.append(f"    item[{attr!r}] = {{'S': t{i}}}")
        lines.append(f"    item[{self.table.type_attribute!r}] = {{'S': {self.type_name!r}}}")
        lines.append("    return True")
        source = "\n".join(lines) + "\n"
        derive: Callable[[Any, Item], bool] = compile_function(
            source, "derive_keys", self.aggregate.__qualname__, env
        )
        return derive

    def _direct(self, attr: str | None) -> Template | None:
        if attr is not None and attr in self.field_names:
            return Template.parse("{" + attr + "}")
        return None

    def _direct_key(self, pk: str, sk: str | None) -> Key:
        fields = {f.name for f in dataclasses.fields(self.aggregate)}  # type: ignore[arg-type]
        if pk not in fields or (sk is not None and sk not in fields):
            raise ValidationError(
                f"{self.name}: table {self.table.name!r} keys are {pk!r}/{sk!r}, which are not "
                f"fields of {self.name}; give key=Key(pk=..., sk=...) templates"
            )
        return Key(pk="{" + pk + "}", sk=("{" + sk + "}") if sk else None)

    def attribute_type(self, attr: str) -> KeyType | None:
        """The DynamoDB type ("S", "N" or "B") this mapping writes to key attribute `attr`, or
        None if it does not write that attribute.
        """
        for p in self.paths:
            for a, template in ((p.pk_attr, p.pk), (p.sk_attr, p.sk)):
                if a != attr or template is None:
                    continue
                direct = template.direct_field
                if direct is None:
                    return "S"
                python = self.converter.fields[direct].type
                if python in (int, float, Decimal):
                    return "N"
                if python in (bytes, bytearray):
                    return "B"
                return "S"
        return None

    # ------------------------------------------------------------------ values and keys

    def key_value(self, template: Template, values: MappingABC[str, Any]) -> Wire | None:
        """The wire value of one key attribute from field values; None when a field is None."""
        direct = template.direct_field
        if direct is not None:
            value = values.get(direct)
            if value is None:
                return None
            wire = self.converter.field_to_attr(direct, value)
            if wire is None or next(iter(wire)) not in ("S", "N", "B"):
                raise ValidationError(
                    f"{self.name}.{direct}: a key attribute must be a string, number or bytes"
                )
            return wire
        text = template.render(values)
        return None if text is None else {"S": text}

    def _field_values(self, aggregate: Any, fields: Iterable[str]) -> dict[str, Any]:
        return {f: getattr(aggregate, f) for f in fields}

    def key_of(self, aggregate: Any) -> dict[str, Wire]:
        """The aggregate's primary key in wire format (`{"pk": {"S": "ACCOUNT#a1"}, ...}`).

        Raises:
            ValidationError: a key field is None, or its value cannot be rendered unambiguously.
        """
        out: dict[str, Wire] = {}
        for attr, sort, render, _ in self._key_slots[0]:
            text = render(aggregate) if render is not None else None
            if text is None:
                # Keys that keep a field's own type, or a missing field (which this reports).
                return self.primary_key(self._field_values(aggregate, self.key_fields))
            wire = {"S": text}
            check_key_value(attr, wire, sort=sort, where=self.name)
            out[attr] = wire
        return out

    def key_fields_of(self, aggregate: Any) -> dict[str, Any]:
        """The values of the fields the primary key templates use (`{"account_id": "a1"}`)."""
        return self._field_values(aggregate, self.key_fields)

    def primary_key(self, values: MappingABC[str, Any]) -> dict[str, Wire]:
        """Wire primary key from the key fields, checked the way DynamoDB checks it."""
        out: dict[str, Wire] = {}
        table = self.paths[0]
        for attr, template, sort in (
            (table.pk_attr, table.pk, False),
            (table.sk_attr, table.sk, True),
        ):
            if attr is None or template is None:
                continue
            missing = [f for f in template.fields if values.get(f) is None]
            if missing:
                raise ValidationError(
                    f"{self.name}: key field(s) {missing} are needed for key attribute {attr!r} "
                    f"({template.text!r})"
                )
            wire = self.key_value(template, values)
            assert wire is not None
            check_key_value(attr, wire, sort=sort, where=self.name)
            out[attr] = wire
        return out

    def key_from_fields(self, fields: MappingABC[str, Any]) -> dict[str, Wire]:
        """`repo.get(account_id="a1")`: exactly the key fields, no others."""
        unknown = sorted(set(fields) - set(self.key_fields))
        if unknown:
            raise ValidationError(
                f"{self.name}: {unknown} are not key fields; the key is {list(self.key_fields)}"
            )
        return self.primary_key(fields)

    def holds_key(self, aggregate: Any, key: MappingABC[str, Wire]) -> bool:
        """Whether an aggregate read by `key` is the one that key addresses.

        Keys render injectively (keys.py), so an aggregate whose own key renders under the rule
        to the same key has the key fields that were asked for. One that does not (an item
        written before the rule, with a separator inside a hole; an item written by other code)
        is some other aggregate that happens to sit at that key.
        """
        try:
            own = self.key_of(aggregate)
        except ValidationError:
            return False
        return key_id(own) == key_id(key)

    def key_fields_from_item(self, key: MappingABC[str, Wire]) -> dict[str, Any]:
        """Best-effort readable key for error messages."""
        from .marshal import from_wire

        return {attr: from_wire(v) for attr, v in key.items()}

    # ------------------------------------------------------------------ items

    @functools.cached_property
    def sound_attributes(self) -> frozenset[str]:
        """The attributes of `to_item`'s items that are sound by construction: the sound fields
        (`ClassConverter.sound_fields`), the derived keys and type attribute (strings, numbers or
        bytes) and the TTL (a number). `validation.check_put_item` walks only the others."""
        ttl = {self.ttl} if self.ttl else set()
        return self.converter.sound_fields | self.derived_attributes | ttl

    def to_item(self, aggregate: Any) -> Item:
        """The item DynamoDB stores for `aggregate`, in wire format: every field (None fields
        left out, the events field never), the key and index key attributes derived from the
        templates (an index whose key needs a None field is left out: a sparse index), the TTL
        attribute in epoch seconds and the type attribute.

        Raises:
            ValidationError: not an aggregate of this mapping, or a value DynamoDB would refuse.
        """
        if type(aggregate) is not self.aggregate and not isinstance(aggregate, self.aggregate):
            raise ValidationError(f"{self.name} mapping cannot store a {type(aggregate).__name__}")
        item = self.converter.to_item(aggregate)
        if self.ttl is not None:
            expires = getattr(aggregate, self.ttl)
            if expires is not None:
                item[self.ttl] = {"N": str(epoch_seconds(expires, f"{self.name}.{self.ttl}"))}
        derive = self._derive_keys
        if derive is not None and derive(aggregate, item):
            return item
        for attr, sort, render, template in self._key_slots[0]:
            if render is None:  # the attribute is a field, or keeps the field's own type
                if template is not None:
                    values = {f: getattr(aggregate, f) for f in template.fields}
                    derived = self.key_value(template, values)
                    if derived is not None:
                        item[attr] = derived
                wire = item.get(attr)
                if wire is None:
                    raise ValidationError(f"{self.name}: key field {attr!r} is None")
            else:
                text = render(aggregate)
                if text is None:
                    fields = template.fields if template is not None else ()
                    missing = [f for f in fields if getattr(aggregate, f) is None]
                    raise ValidationError(f"{self.name}: key field(s) {missing} are None")
                wire = {"S": text}
                item[attr] = wire
            check_key_value(attr, wire, sort=sort, where=self.name)
        for slot in range(1, len(self._key_slots)):
            index_key = self.index_key(slot, aggregate, item)
            if index_key is not None:  # else a sparse index: the item leaves it
                item.update(index_key)
        item[self.table.type_attribute] = {"S": self.type_name}
        return item

    def index_key(
        self, slot: int, source: Any, item: MappingABC[str, Wire] | None = None
    ) -> dict[str, Wire] | None:
        """The key attributes of access path `self.paths[slot]` for `source` (an aggregate, or
        any object with the fields as attributes), checked the way DynamoDB checks keys; None
        when a field they need is None: the item leaves that (sparse) index, since a
        half-written index key is worse than none.

        The one rule for derived index keys: `to_item` and the update builder both use it.
        Attributes that are fields are taken from `item` (already converted) when given.
        """
        out: dict[str, Wire] = {}
        for attr, sort, render, template in self._key_slots[slot]:
            wire: Wire | None
            if render is not None:
                text = render(source)
                wire = None if text is None else {"S": text}
            elif template is not None:  # keeps the field's own type
                wire = self.key_value(template, {f: getattr(source, f) for f in template.fields})
            elif item is not None:
                wire = item.get(attr)
            else:
                wire = self.converter.field_to_attr(attr, getattr(source, attr))
            if wire is None:
                return None
            check_key_value(attr, wire, sort=sort, where=self.name)
            out[attr] = wire
        return out

    def from_item(self, item: MappingABC[str, Wire]) -> T:
        """The aggregate stored as `item` (wire format), equal to the one `to_item` was given.

        Raises:
            ValidationError: the item's type attribute names another aggregate type.
        """
        stored_type = item.get(self.table.type_attribute)
        if stored_type is not None and stored_type.get("S") != self.type_name:
            raise ValidationError(
                f"item of type {stored_type.get('S')!r} cannot be read as {self.type_name}"
            )
        if self.ttl is not None and self.ttl in item:
            item = self._ttl_as_field(item)
        aggregate: T = self.converter.from_item(item)
        if self.events_field is not None:
            # The events list is never stored; a fresh one keeps aggregates independent.
            current = getattr(aggregate, self.events_field, None)
            if not isinstance(current, list):
                object.__setattr__(aggregate, self.events_field, [])
        return aggregate

    def _ttl_as_field(self, item: MappingABC[str, Wire]) -> MappingABC[str, Wire]:
        """The TTL attribute holds epoch seconds; give the converter the field's own form."""
        assert self.ttl is not None
        raw = item[self.ttl]
        if "N" not in raw:
            return item
        seconds = int(Decimal(raw["N"]))
        value: Any = seconds
        if self._ttl_type is datetime:
            value = datetime.fromtimestamp(seconds, UTC)
        elif self._ttl_type is date:
            value = datetime.fromtimestamp(seconds, UTC).date()
        wire = self.converter.field_to_attr(self.ttl, value)
        return {**item, self.ttl: wire} if wire is not None else item

    def is_type(self, item: MappingABC[str, Wire]) -> bool:
        """Whether `item` holds this mapping's aggregate type (true for an item without a
        type attribute, written before or by other code).
        """
        stored = item.get(self.table.type_attribute)
        return stored is None or stored.get("S") == self.type_name

    def stored_attributes(self) -> frozenset[str]:
        """Attributes this mapping writes; anything else in an item is left alone."""
        return self.field_names | self.derived_attributes

    def __repr__(self) -> str:
        return f"Mapping({self.name} -> {self.table.name})"


def epoch_seconds(value: Any, where: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return int(value)
    raise ValidationError(
        f"{where}: a ttl field must be a datetime or epoch seconds, got {value!r}"
    )

"""PersistenceContainer: DynamoDB units of work by default, in-memory on request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from dependency_injector import containers, errors, providers

import persistence as p
from persistence.containers import PersistenceContainer, in_memory, use_in_memory


@dataclass
class Note:
    note_id: str
    text: str = ""
    events: list[Any] = field(default_factory=list, compare=False, repr=False)


TABLE = p.Table("notes", partition_key="note_id")
NOTES = p.Mapping(Note, TABLE)


class Application(containers.DeclarativeContainer):
    client = providers.Object(object())  # never used by the in-memory units of work
    persistence = providers.Container(
        PersistenceContainer,
        client=client,
        mappings=providers.Object([NOTES]),
        cursor_secret=providers.Object("secret"),
    )


def test_the_default_unit_of_work_is_a_fresh_dynamodb_one_per_call() -> None:
    app = Application()
    first, second = app.persistence.unit_of_work(), app.persistence.unit_of_work()
    assert isinstance(first, p.DynamoDBUnitOfWork)
    assert first is not second


def test_missing_dependencies_are_reported() -> None:
    with pytest.raises(errors.Error):
        PersistenceContainer().unit_of_work()


def test_in_memory_units_of_work_share_one_store_inside_the_block() -> None:
    app = Application()
    with in_memory(app.persistence) as store:
        writer = app.persistence.unit_of_work()
        assert isinstance(writer, p.InMemoryUnitOfWork)
        with writer:
            writer.repository(Note).add(Note("n1", "hello"))
            writer.commit()
        with app.persistence.unit_of_work() as reader:
            assert reader.repository(Note).get(note_id="n1").text == "hello"
        assert writer.store is store
    assert isinstance(app.persistence.unit_of_work(), p.DynamoDBUnitOfWork)


def test_each_in_memory_block_starts_empty() -> None:
    app = Application()
    with in_memory(app.persistence), app.persistence.unit_of_work() as uow:
        uow.repository(Note).add(Note("n1"))
        uow.commit()
    with in_memory(app.persistence), app.persistence.unit_of_work() as uow:
        assert uow.repository(Note).find_one(p.attr("note_id") == "n1") is None


def test_use_in_memory_overrides_until_reset() -> None:
    container = PersistenceContainer(mappings=providers.Object([NOTES]))
    store = use_in_memory(container)
    uow = container.unit_of_work()
    assert isinstance(uow, p.InMemoryUnitOfWork) and uow.store is store
    container.unit_of_work.reset_override()
    with pytest.raises(errors.Error):
        container.unit_of_work()  # back to DynamoDB, whose client was never supplied

"""DynamoDBBackend details that a server cannot be made to show on demand."""

from __future__ import annotations

from typing import Any

import persistence as p
from persistence.actions import Delete, Meaning, Put
from persistence.dynamodb.backend import DynamoDBBackend


class EchoingClient:
    """Answers BatchWriteItem with every request unprocessed, in another textual form."""

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        echoed: dict[str, list[Any]] = {}
        for table, entries in RequestItems.items():
            for entry in entries:
                if "PutRequest" in entry:
                    item = dict(entry["PutRequest"]["Item"])
                    item["tags"] = {"SS": list(reversed(item["tags"]["SS"]))}
                    item["n"] = {"N": item["n"]["N"] + ".0"}
                    echoed.setdefault(table, []).append({"PutRequest": {"Item": item}})
                else:
                    echoed.setdefault(table, []).append(entry)
        return {"UnprocessedItems": echoed}


def test_unprocessed_items_are_matched_by_key_and_never_dropped() -> None:
    backend = DynamoDBBackend(EchoingClient())
    backend.register(p.Table("t", partition_key="pk"))
    meaning = Meaning("T", {"pk": "a"}, "put")
    put = Put("t", {"pk": {"S": "a"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}}, None, meaning)
    delete = Delete("t", {"pk": {"S": "b"}}, None, meaning)
    unprocessed = backend.batch_write({"t": [put, delete]})
    assert unprocessed["t"][0] is put  # matched back to the original request
    assert unprocessed["t"][1] is delete

    # A table the backend was never told about: the echoed request is kept, not dropped.
    other = DynamoDBBackend(EchoingClient())
    assert len(other.batch_write({"t": [put]})["t"]) == 1

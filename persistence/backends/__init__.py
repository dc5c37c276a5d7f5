"""Backends: the contract (`base`: the Backend protocol; `actions`: the writes it carries) and
its implementations, `memory` (the in-memory store) and `dynamodb`. The core imports only the
contract."""

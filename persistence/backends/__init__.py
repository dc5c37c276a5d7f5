"""Backends: the contract (`base`: the Backend protocol; `actions`: the writes it carries) and
its implementations, `memory` (the in-memory store) and `dynamodb`; the core imports only the contract."""

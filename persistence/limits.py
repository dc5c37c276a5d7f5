"""DynamoDB's documented limits, in one place so both backends enforce the same numbers."""

from __future__ import annotations

from decimal import Decimal

MAX_ITEM_BYTES = 400 * 1024
MAX_TRANSACT_ACTIONS = 100
MAX_TRANSACT_BYTES = 4 * 1024 * 1024
MAX_BATCH_WRITE = 25  # put/delete requests in one BatchWriteItem
MAX_BATCH_GET = 100  # keys in one BatchGetItem
MAX_PAGE_BYTES = 1024 * 1024
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_EXPRESSION_BYTES = 4096
MAX_IN_OPERANDS = 100
MAX_PROJECTED_ATTRIBUTES = 100  # NonKeyAttributes summed over every index of a table
MAX_NESTING_DEPTH = 32
MAX_NUMBER_DIGITS = 38
TOKEN_WINDOW_SECONDS = 600.0
"""DynamoDB honours a ClientRequestToken for 10 minutes after the first request that used it
(TransactWriteItems, ClientRequestToken); a retry later than that may be applied a second time,
so no retry policy may run that long, and the in-memory store forgets a token after it."""
# Magnitudes DynamoDB accepts for a non-zero number.
MIN_NUMBER_MAGNITUDE = Decimal("1E-130")
MAX_NUMBER_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")

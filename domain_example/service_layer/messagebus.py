"""Which handler serves which message. The bootstrap binds their dependencies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..domain import commands, events
from . import event_handlers, handlers

COMMAND_HANDLERS: dict[type, Callable[..., Any]] = {
    commands.OpenAccount: handlers.open_account,
    commands.Deposit: handlers.deposit,
    commands.Withdraw: handlers.withdraw,
    commands.TransferMoney: handlers.transfer_money,
    commands.FreezeAccount: handlers.freeze_account,
    commands.CloseAccount: handlers.close_account,
}

EVENT_HANDLERS: dict[type, Sequence[Callable[..., Any]]] = {
    events.AccountOpened: [event_handlers.count_opened, event_handlers.notify_opened],
    events.MoneyDeposited: [event_handlers.count_deposit],
    events.MoneyWithdrawn: [event_handlers.count_withdrawal],
    events.TransferCompleted: [event_handlers.count_transfer, event_handlers.notify_transfer],
    events.TransferRejected: [event_handlers.count_rejection, event_handlers.notify_rejection],
    events.AccountFrozen: [event_handlers.notify_frozen],
    events.AccountClosed: [event_handlers.count_closed, event_handlers.notify_closed],
}

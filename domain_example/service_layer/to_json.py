"""Aggregates as JSON-ready dicts: the answers handlers remember and the rows views return.

Amounts are strings so no JSON parser turns them into binary floats.
"""

from __future__ import annotations

from typing import Any

from ..domain.model import Account, OwnerStats, Transfer


def account(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "owner": account.owner,
        "currency": account.currency,
        "balance": str(account.balance),
        "overdraft_limit": str(account.overdraft_limit),
        "status": account.status.value,
        "deposits": account.deposits,
        "withdrawals": account.withdrawals,
        "version": account.version,
    }


def balance(account: Account) -> dict[str, str]:
    return {
        "account_id": account.account_id,
        "balance": str(account.balance),
        "currency": account.currency,
    }


def transfer(transfer: Transfer) -> dict[str, str]:
    shape = {
        "transfer_id": transfer.transfer_id,
        "from_account": transfer.from_account,
        "to_account": transfer.to_account,
        "amount": str(transfer.amount),
        "currency": transfer.currency,
        "status": transfer.status.value,
        "created_at": transfer.created_at.isoformat(),
    }
    if transfer.reason is not None:
        shape["reason"] = transfer.reason
    return shape


def stats(stats: OwnerStats) -> dict[str, Any]:
    return {
        "owner": stats.owner,
        "accounts_opened": stats.accounts_opened,
        "accounts_closed": stats.accounts_closed,
        "deposits": stats.deposits,
        "deposited": str(stats.deposited),
        "withdrawals": stats.withdrawals,
        "transfers_sent": stats.transfers_sent,
        "amount_sent": str(stats.amount_sent),
        "transfers_received": stats.transfers_received,
        "transfers_rejected": stats.transfers_rejected,
    }

"""Domain errors: a rule of the business was broken. Entry points map them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every business-rule violation; `code` is the stable, machine-readable name."""

    code = "domain_error"


class InvalidAmount(DomainError):
    code = "invalid_amount"


class InvalidAccountId(DomainError):
    code = "invalid_account_id"


class InvalidCurrency(DomainError):
    code = "invalid_currency"


class BalanceOutOfRange(DomainError):
    """The balance would need more digits than it can be stored with exactly."""

    code = "balance_out_of_range"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class AccountNotOpen(DomainError):
    code = "account_not_open"


class AccountNotEmpty(DomainError):
    code = "account_not_empty"


class SameAccount(DomainError):
    code = "same_account"


class AccountNotFound(DomainError):
    code = "account_not_found"


class AccountAlreadyExists(DomainError):
    code = "account_already_exists"


class IdempotencyKeyReused(DomainError):
    """The same idempotency key came back with a different request: refuse, never guess."""

    code = "idempotency_key_reused"

"""Printing the demo's summary: readable text, or JSON for scripts and tests."""

from __future__ import annotations

import json
from typing import Any, TextIO

from .demo import Summary


def as_json(summary: Summary) -> dict[str, Any]:
    return {
        "balances": summary.balances,
        "eur_before": str(summary.eur_before),
        "eur_after": str(summary.eur_after),
        "money_conserved": summary.money_conserved,
        "transfers": {
            "attempted": summary.transfers_attempted,
            "completed": summary.transfers_completed,
            "rejected": summary.transfers_rejected,
            "failed": summary.transfers_failed,
        },
        "conflicts_retried": summary.conflicts_retried,
        "gave_up": summary.gave_up,
        "rejections": summary.rejections,
        "idempotent_replay": summary.idempotent_replay,
        "closed_account_hidden": summary.closed_account_hidden,
        "queries": [{"name": n, "plan": plan, "count": c} for n, plan, c in summary.queries],
        "stats": summary.stats,
        "events_handled": summary.events_handled,
        "event_handler_failures": summary.event_handler_failures,
        "notifications": summary.notifications,
        "requests": summary.requests,
        "events": {
            "committed": summary.events_committed,
            "pending": summary.events_pending,
            "relayed": summary.events_relayed,
            "published": summary.events_published,
            "consumed": summary.events_consumed,
            "duplicates_absorbed": summary.duplicates_absorbed,
            "consumer_failures": summary.consumer_failures,
            "agree": summary.events_agree,
        },
    }


def print_json(summary: Summary, out: TextIO) -> None:
    json.dump(as_json(summary), out, indent=2, sort_keys=True)
    out.write("\n")


def print_text(summary: Summary, out: TextIO) -> None:
    def line(text: str = "") -> None:
        out.write(text + "\n")

    line("== Balances")
    for account_id, balance in summary.balances.items():
        line(f"  {account_id:<10} {balance:>14}")
    conserved = "yes" if summary.money_conserved else "NO"
    line(
        f"  EUR total before {summary.eur_before}, after {summary.eur_after}: "
        f"money conserved: {conserved}"
    )
    line()
    line("== Transfers")
    line(
        f"  concurrent: {summary.transfers_attempted} done "
        f"({summary.transfers_completed} completed, {summary.transfers_rejected} rejected), "
        f"{summary.transfers_failed} gave up"
    )
    line(f"  conflicts retried: {summary.conflicts_retried}")
    for rejection in summary.rejections:
        line(f"  rejected: {rejection}")
    replay = "same answer, money moved once" if summary.idempotent_replay else "DIFFERENT"
    line(f"  idempotent retry: {replay}")
    line()
    line("== Queries")
    for name, plan, count in summary.queries:
        line(f"  {name:<24} {plan:<34} {count} found")
    hidden = "yes" if summary.closed_account_hidden else "NO"
    line(f"  closed account hidden from reads (soft delete): {hidden}")
    line()
    line("== Statistics (kept from the events queue by an idempotent consumer)")
    for owner, stats in summary.stats.items():
        line(
            f"  {owner:<6} accounts {stats['accounts_opened']} opened/"
            f"{stats['accounts_closed']} closed, deposits {stats['deposits']}, "
            f"sent {stats['transfers_sent']} ({stats['amount_sent']}), "
            f"received {stats['transfers_received']}, rejected {stats['transfers_rejected']}"
        )
    line(
        f"  in-process event handlers: {summary.events_handled} ran, "
        f"{summary.event_handler_failures} failed; notifications: {summary.notifications}"
    )
    line()
    line("== Events (outbox -> relay -> SNS topic -> SQS queue -> statistics consumer)")
    agree = "yes" if summary.events_agree else "NO"
    line(
        f"  committed {summary.events_committed}, relayed {summary.events_relayed}, "
        f"consumed {summary.events_consumed}: agree: {agree}"
    )
    line(
        f"  published {summary.events_published} times (at least once), "
        f"duplicates absorbed {summary.duplicates_absorbed}, "
        f"still pending {summary.events_pending}, consumer failures {summary.consumer_failures}"
    )
    line()
    line("== DynamoDB requests per operation")
    for operation, count in sorted(summary.requests.items()):
        line(f"  {operation:<20} {count}")
    line(f"  total                {sum(summary.requests.values())}")

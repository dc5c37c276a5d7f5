"""The payments domain: aggregates, commands, events and rules. No persistence imports here."""

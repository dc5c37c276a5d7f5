"""A small payments application built on persistence (see issue: domain_example)."""

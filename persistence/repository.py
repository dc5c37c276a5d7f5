"""Repositories: collection-like access to one aggregate type, on any backend.

Reads compile a Specification into the cheapest read (a GetItem, a Query on the table or an
index, a Scan last). Inside a unit of work, what a repository loads goes through the unit of
work's identity map, and `add` / `remove` are recorded for the commit. A repository built outside
a unit of work writes at once, each call being its own one-action commit with the same conditions
and errors.

The public face of `persistence.session.repository` (the session layer), kept at this path so
`from persistence.repository import ...` goes on working. The repositories log on the
`persistence.repository` logger.
"""

from .session.repository import Page, Repository

__all__ = ["Page", "Repository"]

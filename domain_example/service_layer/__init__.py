"""The service layer: command and event handlers, read queries, and how they are wired."""

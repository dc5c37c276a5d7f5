"""The service layer: handlers (commands and events) with the handler maps, and views (reads)."""

"""The model layer: how aggregates are stored (tables, mappings, key templates, marshalling)."""

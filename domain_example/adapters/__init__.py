"""Adapters: how the domain is stored (mappings, specifications) and how it talks out."""

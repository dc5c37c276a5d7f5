"""The session layer: units of work (identity map, commit) and repositories."""

"""The write layer: stamps, diffs, cancellation errors, the update builder, single and batch
writes."""

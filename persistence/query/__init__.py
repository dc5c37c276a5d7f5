"""The query layer: Specifications, the expression compiler, the planner, cursors, projections."""

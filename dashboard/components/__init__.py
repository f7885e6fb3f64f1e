"""Reusable layout pieces of the analytics pages: filter bar, KPI cards, statistics, empty state."""

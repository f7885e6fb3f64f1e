"""dashboard/figures package."""

"""impact_runtime."""

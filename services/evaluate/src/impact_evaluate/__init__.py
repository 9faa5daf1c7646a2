"""impact_evaluate."""

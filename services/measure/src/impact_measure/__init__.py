"""impact_measure."""

"""impact_allocate."""

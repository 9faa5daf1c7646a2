"""impact_schemas."""

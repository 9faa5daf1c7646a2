"""impact_cli."""

"""impact_orchestrator."""

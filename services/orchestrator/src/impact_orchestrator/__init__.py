"""Orchestrator: manifest, fan-out/fan-in barrier, deadlines, report and embedded mode.

Pure Python: importing it never imports Kafka (the service is
``impact_orchestrator.service``, started with ``python -m impact_orchestrator.service``).
"""

from impact_orchestrator.commands import Command
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, ManifestError, load_manifest
from impact_orchestrator.run_state import RunState
from impact_orchestrator.transitions import apply, on_tick

__all__ = [
    "Command",
    "Manifest",
    "ManifestError",
    "RunState",
    "apply",
    "load_manifest",
    "on_tick",
    "run_embedded",
]

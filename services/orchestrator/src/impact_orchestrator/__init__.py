"""Orchestrator: manifest, fan-out/fan-in barrier, deadlines, report and embedded mode.

Pure Python: importing it never imports Kafka (the service is
``impact_orchestrator.service``, started with ``python -m impact_orchestrator.service``).
The names below load on first use (PEP 562): the service imports none of the stage
components (and their numpy, pandas, statsmodels) until a manifest is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts.lazy import load_lazily

if TYPE_CHECKING:
    from impact_orchestrator.commands import Command
    from impact_orchestrator.embedded import run_embedded
    from impact_orchestrator.manifest import Manifest, ManifestError, load_manifest
    from impact_orchestrator.run_state import RunState
    from impact_orchestrator.transitions import apply, on_tick

_HOMES = {
    "Command": "impact_orchestrator.commands",
    "Manifest": "impact_orchestrator.manifest",
    "ManifestError": "impact_orchestrator.manifest",
    "RunState": "impact_orchestrator.run_state",
    "apply": "impact_orchestrator.transitions",
    "load_manifest": "impact_orchestrator.manifest",
    "on_tick": "impact_orchestrator.transitions",
    "run_embedded": "impact_orchestrator.embedded",
}


def __getattr__(name: str) -> Any:
    """Load ``name`` from its module on first use."""
    return load_lazily(__name__, _HOMES, name)


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

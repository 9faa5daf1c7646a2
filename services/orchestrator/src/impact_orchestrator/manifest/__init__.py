"""Manifest loading: three levels (run, stage components, initiatives), fully inlined."""

from impact_orchestrator.manifest.errors import ManifestError
from impact_orchestrator.manifest.limits import Limits
from impact_orchestrator.manifest.loader import load_manifest
from impact_orchestrator.manifest.model import InitiativeSpec, Manifest
from impact_orchestrator.manifest.stages import Catalogs, StageConfig, default_catalogs

__all__ = [
    "InitiativeSpec",
    "Limits",
    "Manifest",
    "ManifestError",
    "Catalogs",
    "StageConfig",
    "default_catalogs",
    "load_manifest",
]

"""Contracts shared by every stage: pydantic models, errors and the component catalog.

Pure Python (pydantic only): importing it never imports Kafka. The errors and the
component catalog load eagerly; the pydantic contracts (``events``, ``models``) load on
first use, so a caller that needs only an error class (the CLI's ``--help``) does not pay
for building every model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from impact_contracts.components import Catalog, Component, ComponentCatalog
from impact_contracts.errors import (
    ComponentError,
    ConfigError,
    ContractViolation,
    DependencyUnavailable,
    ImpactError,
    PermanentError,
    RetryableError,
    SchemaMismatch,
)
from impact_contracts.lazy import lazy_getattr

if TYPE_CHECKING:
    from impact_contracts.events import (
        PAYLOAD_CONTRACTS,
        AllocateCompleted,
        EvaluateCompleted,
        InitiativeSpec,
        ManifestSubmitted,
        MeasureCompleted,
        RunCommand,
        StageChoice,
        StageFailed,
    )
    from impact_contracts.models import (
        MODEL_TYPES,
        AllocateResult,
        EvaluateResult,
        InitiativeFailure,
        MeasureResult,
        ModelType,
        OutcomeReport,
        Phase,
        PilotEstimate,
        RunSummary,
        Stage,
    )

_EVENTS = [
    "PAYLOAD_CONTRACTS",
    "AllocateCompleted",
    "EvaluateCompleted",
    "InitiativeSpec",
    "ManifestSubmitted",
    "MeasureCompleted",
    "RunCommand",
    "StageChoice",
    "StageFailed",
]
_MODELS = [
    "MODEL_TYPES",
    "AllocateResult",
    "EvaluateResult",
    "InitiativeFailure",
    "MeasureResult",
    "ModelType",
    "OutcomeReport",
    "Phase",
    "PilotEstimate",
    "RunSummary",
    "Stage",
]
_LAZY = {name: "impact_contracts.events" for name in _EVENTS}
_LAZY |= {name: "impact_contracts.models" for name in _MODELS}

#: Loads the pydantic contracts on first use (PEP 562).
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    # contracts
    "MODEL_TYPES",
    "AllocateResult",
    "EvaluateResult",
    "InitiativeFailure",
    "MeasureResult",
    "ModelType",
    "OutcomeReport",
    "Phase",
    "PilotEstimate",
    "RunSummary",
    "Stage",
    # event payloads
    "PAYLOAD_CONTRACTS",
    "AllocateCompleted",
    "EvaluateCompleted",
    "InitiativeSpec",
    "ManifestSubmitted",
    "MeasureCompleted",
    "RunCommand",
    "StageChoice",
    "StageFailed",
    # components
    "Catalog",
    "Component",
    "ComponentCatalog",
    # errors
    "ComponentError",
    "ConfigError",
    "ContractViolation",
    "DependencyUnavailable",
    "ImpactError",
    "PermanentError",
    "RetryableError",
    "SchemaMismatch",
]

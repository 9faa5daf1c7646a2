"""Contracts shared by every stage: pydantic models, errors and the component registry.

Pure Python (pydantic only): importing it never imports Kafka.
"""

from impact_contracts.components import Component, ComponentRegistry
from impact_contracts.errors import (
    ComponentError,
    ConfigError,
    ContractViolation,
    ImpactError,
    PermanentError,
    RetryableError,
    SchemaMismatch,
)
from impact_contracts.events import (
    PAYLOAD_CONTRACTS,
    AllocateCompleted,
    EvaluateCompleted,
    InitiativeSpec,
    ManifestSubmitted,
    MeasureCompleted,
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
    "StageChoice",
    "StageFailed",
    # components
    "Component",
    "ComponentRegistry",
    # errors
    "ComponentError",
    "ConfigError",
    "ContractViolation",
    "ImpactError",
    "PermanentError",
    "RetryableError",
    "SchemaMismatch",
]

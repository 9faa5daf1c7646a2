"""impact_runtime: the small shared consumer runtime every stage service runs on.

``Service`` binds a handler to input events (retry, DLQ, commit, shutdown, health,
metrics, logging); ``run_service`` runs it until SIGTERM; ``FakeBus`` drives the same
pipeline in memory for unit tests.
"""

from impact_contracts import (
    ComponentError,
    ConfigError,
    ContractViolation,
    ImpactError,
    PermanentError,
    RetryableError,
    SchemaMismatch,
)

from impact_runtime.codec import Codec, JsonCodec
from impact_runtime.fake import FakeBus, Produced
from impact_runtime.service import Service, ServiceCrashed, run_service
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import Handler, Incoming, Outgoing, Output, Record, StateHooks

__all__ = [
    # service
    "Service",
    "ServiceCrashed",
    "ServiceSettings",
    "run_service",
    # data
    "Handler",
    "Incoming",
    "Outgoing",
    "Output",
    "Record",
    "StateHooks",
    # codecs
    "Codec",
    "JsonCodec",
    # testing
    "FakeBus",
    "Produced",
    # errors
    "ComponentError",
    "ConfigError",
    "ContractViolation",
    "ImpactError",
    "PermanentError",
    "RetryableError",
    "SchemaMismatch",
]

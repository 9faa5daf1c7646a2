"""impact_runtime: the small shared consumer runtime every stage service runs on.

``Service`` binds a handler to input events (retry, DLQ, commit, shutdown, health,
metrics, logging); ``run_service`` runs it until SIGTERM; ``FakeBus`` drives the same
pipeline in memory for unit tests.

Importing the package (or its pure modules ``failures``, ``retry``, ``stage``) does not
import Kafka: ``Service``, ``run_service``, ``ServiceCrashed``, ``FakeBus`` and ``Produced``
are loaded on first use, so embedded mode stays broker-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts import (
    ComponentError,
    ConfigError,
    ContractViolation,
    ImpactError,
    PermanentError,
    RetryableError,
    SchemaMismatch,
)
from impact_contracts.lazy import load_lazily

from impact_runtime.calls import on_event_loop
from impact_runtime.codec import Codec, JsonCodec
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import (
    Directive,
    Handler,
    Incoming,
    Outgoing,
    Output,
    ProducerRecord,
    RawMessage,
    Source,
    StateHooks,
)

if TYPE_CHECKING:
    from impact_runtime.fake import FakeBus, Produced
    from impact_runtime.service import Service, ServiceCrashed, run_service

_KAFKA_BOUND = {
    "Service": "impact_runtime.service",
    "ServiceCrashed": "impact_runtime.service",
    "run_service": "impact_runtime.service",
    "FakeBus": "impact_runtime.fake",
    "Produced": "impact_runtime.fake",
}


def __getattr__(name: str) -> Any:
    """Load the Kafka-bound names on first use (PEP 562)."""
    return load_lazily(__name__, _KAFKA_BOUND, name)


__all__ = [
    # service
    "Service",
    "ServiceCrashed",
    "ServiceSettings",
    "run_service",
    "on_event_loop",
    # data
    "Directive",
    "Handler",
    "Incoming",
    "Outgoing",
    "Output",
    "ProducerRecord",
    "RawMessage",
    "Source",
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

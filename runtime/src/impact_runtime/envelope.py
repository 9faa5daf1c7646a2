"""Envelope filling: ids, timestamps and correlation headers on every produced event."""

from __future__ import annotations

from typing import Any

from impact_contracts import ContractViolation
from impact_schemas.events import new_envelope

from impact_runtime.structs import Incoming, Outgoing

ENVELOPE_HEADERS = ("run_id", "event_id", "causation_id", "schema_version")


def fill_envelope(
    outgoing: Outgoing, cause: Incoming | None, schema_version: str | None
) -> dict[str, Any]:
    """Return the outgoing value with missing envelope fields filled in.

    ``event_id`` is a fresh uuid4, ``produced_at`` now (UTC), ``run_id`` is copied from
    the cause and ``causation_id`` is the cause's ``event_id``. Fields the handler set
    win. Raises ContractViolation when no ``run_id`` can be found.
    """
    value = dict(outgoing.value)
    cause_value = cause.value if cause is not None else {}
    run_id = value.get("run_id") or cause_value.get("run_id")
    if run_id is None:
        raise ContractViolation(f"{outgoing.event}: run_id is missing and has no cause")
    defaults = {
        "schema_version": schema_version,
        **new_envelope(run_id, cause_value.get("event_id")),
    }
    for name, default in defaults.items():
        if value.get(name) is None and (default is not None or name == "causation_id"):
            value[name] = default
    return value


def envelope_headers(value: dict[str, Any]) -> tuple[tuple[str, bytes], ...]:
    """Kafka headers carrying the correlation ids present in ``value``."""
    return tuple(
        (name, str(value[name]).encode())
        for name in ENVELOPE_HEADERS
        if value.get(name) is not None
    )

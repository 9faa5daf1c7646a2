"""One consumed event into the run store: checked against its contract first.

A valid event is applied; one that breaks its contract is dead-lettered by the caller and
still ends what it belongs to (``RunStore.reject``), so no run waits for it forever.
"""

from __future__ import annotations

from typing import Any

from impact_contracts import ContractViolation

from impact_orchestrator.manifest import Catalogs
from impact_orchestrator.store import Change, RunStore, without_envelope
from impact_orchestrator.validation import check_payload


def intake(
    store: RunStore,
    event: str,
    value: dict[str, Any],
    partition: int,
    now: float,
    catalogs: Catalogs,
) -> tuple[Change | None, str | None]:
    """Apply ``value`` (its ``run_id`` already checked); return the change, and the reason
    to dead-letter the event when it broke its contract."""
    try:
        check_payload(event, without_envelope(value), catalogs)
        return store.handle(event, value, partition, now), None
    except ContractViolation as exc:  # from the contract, or from the run's own checks
        reason = str(exc)
        return store.reject(event, value, reason, partition, now), reason

"""A stage's pure ``handle(command) -> (event, payload)``, bound to Kafka or run inline.

``stage_handler`` makes it a Service handler (its event keyed by the command's run_id);
``run_inline`` runs it as embedded mode does, with the same failure routing as the
runtime: a component's RetryableError is retried, then any failure is ``stage_failed``
(``stage_failure`` builds its payload; ``stage_failed_event`` gives it to the runtime).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from impact_contracts import ImpactError

from impact_runtime.calls import on_event_loop, runs_on_event_loop
from impact_runtime.failures import failure_reason
from impact_runtime.retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retry_sync
from impact_runtime.structs import Handler, Incoming, Outgoing, Output

Event = tuple[str, dict[str, Any]]
StageHandle = Callable[[dict[str, Any]], Event]
STAGE_FAILED = "stage_failed"


def stage_failure(stage: str, command: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The ``stage_failed`` payload for ``command`` of ``stage`` that raised ``exc``.

    Impact errors carry their own message as the reason; anything unexpected (a component
    bug such as ``IndexError``) gets ``unexpected <Type>: <msg> at <frames>``.
    """
    return {
        "stage": stage,
        "initiative_id": command.get("initiative_id"),
        "phase": command.get("phase"),
        "reason": str(exc) if isinstance(exc, ImpactError) else failure_reason(exc),
        "error_type": type(exc).__name__,
    }


def stage_failed_event(stage: str) -> Callable[[dict[str, Any], BaseException], Outgoing]:
    """The failure event of ``stage``'s service: ``stage_failed`` keyed by the run_id."""

    def failed(command: dict[str, Any], exc: BaseException) -> Outgoing:
        return Outgoing(STAGE_FAILED, str(command["run_id"]), stage_failure(stage, command, exc))

    return failed


def stage_handler(handle: StageHandle) -> Handler:
    """The Service handler running ``handle`` on each command."""

    def on_command(incoming: Incoming) -> list[Output]:
        event, payload = handle(incoming.value)
        return [Outgoing(event, str(incoming.value["run_id"]), payload)]

    if runs_on_event_loop(handle):
        on_event_loop(on_command)
    return on_command


def run_inline(
    stage: str,
    handle: StageHandle,
    command: dict[str, Any],
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Event:
    """``handle(command)`` as the runtime would run it, without a broker: the event, or
    ``("stage_failed", payload)`` for any failure (after retrying a RetryableError)."""
    try:
        return call_with_retry_sync(partial(handle, command), policy, sleep)
    except Exception as exc:
        return STAGE_FAILED, stage_failure(stage, command, exc)

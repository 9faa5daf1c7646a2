"""Runs one request command as its stage service would, without a broker.

The stage services and this executor call the same pure stage handlers
(``impact_<stage>.handler``) with the same failure routing (``impact_runtime.stage``), so
embedded mode and Kafka cannot drift: a failed command becomes ``stage_failed`` in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from impact_allocate import handler as allocate
from impact_evaluate import handler as evaluate
from impact_measure import api as measure
from impact_runtime.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from impact_runtime.stage import Event, StageHandle, run_inline

from impact_orchestrator.commands import Command
from impact_orchestrator.manifest import Catalogs


class ComponentExecutor:
    """``executor(command) -> (event, payload)`` for ``*_requested`` commands."""

    def __init__(
        self,
        catalogs: Catalogs,
        *,
        retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._stages: dict[str, tuple[str, StageHandle]] = {
            "measure_requested": (measure.STAGE, measure.MeasureHandler(catalogs.measure)),
            "evaluate_requested": (evaluate.STAGE, evaluate.EvaluateHandler(catalogs.evaluate)),
            "allocate_requested": (allocate.STAGE, allocate.AllocateHandler(catalogs.allocate)),
        }
        self._retry = retry
        self._sleep = sleep

    def __call__(self, command: Command) -> Event:
        stage, handle = self._stages[command.event]
        return run_inline(stage, handle, command.payload, policy=self._retry, sleep=self._sleep)

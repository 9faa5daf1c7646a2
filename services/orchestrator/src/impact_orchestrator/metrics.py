"""Prometheus gauges of the runs a replica owns: how many are open, what their barriers
still wait for and how old the oldest is (a stuck run shows as a growing age with a
pending count that does not fall)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from impact_orchestrator.barrier import Barrier
from impact_orchestrator.run_state import RunState


def _barriers(state: RunState) -> dict[str, Barrier]:
    """The barriers a running run waits on, by stage: measure and evaluate in the pilot."""
    if state.stage == "pilot":
        return {"measure": state.measured, "evaluate": state.evaluated}
    if state.stage == "scale":
        return {"scale": state.scaled}
    return {}


class RunsCollector(Collector):
    """Reads the live runs at scrape time (no bookkeeping on the message path)."""

    def __init__(
        self, states: Callable[[], dict[str, RunState]], clock: Callable[[], float] = time.time
    ) -> None:
        self.states = states
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        running = [s for s in list(self.states().values()) if s.status == "running"]
        open_runs = GaugeMetricFamily(
            "impact_runs_open", "Running runs this replica owns, by stage.", labels=["stage"]
        )
        pending = GaugeMetricFamily(
            "impact_barrier_pending",
            "Initiatives the open barriers still wait for, by stage.",
            labels=["stage"],
        )
        by_stage: dict[str, int] = dict.fromkeys(("pilot", "allocate", "scale"), 0)
        waiting: dict[str, int] = dict.fromkeys(("measure", "evaluate", "scale"), 0)
        for state in running:
            by_stage[state.stage] = by_stage.get(state.stage, 0) + 1
            for stage, barrier in _barriers(state).items():
                done, total = barrier.progress()
                waiting[stage] += total - done
        for stage, count in by_stage.items():
            open_runs.add_metric([stage], count)
        for stage, count in waiting.items():
            pending.add_metric([stage], count)
        oldest = min((s.started_at for s in running), default=None)
        age = GaugeMetricFamily(
            "impact_run_age_seconds_max",
            "Seconds since the oldest running run this replica owns started (0: none).",
            value=0.0 if oldest is None else max(0.0, self.clock() - oldest),
        )
        yield from (open_runs, pending, age)


def register_run_metrics(
    registry: CollectorRegistry, states: Callable[[], dict[str, RunState]]
) -> None:
    registry.register(RunsCollector(states))


class RestoreCollector(Collector):
    """Corrupt changelog runs: found by restores so far, and held now (read at scrape)."""

    def __init__(
        self, found: Callable[[], int], held: Callable[[], int], changed: Callable[[], int]
    ) -> None:
        self.found = found
        self.held = held
        self.changed = changed

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily(
            "impact_changelog_corrupt_runs",
            "Runs (or restores) a changelog restore could not read: corrupt records.",
            value=self.found(),
        )
        yield GaugeMetricFamily(
            "impact_runs_quarantined",
            "Runs of the assigned partitions left out of the restore as corrupt.",
            value=self.held(),
        )
        yield CounterMetricFamily(
            "impact_changelog_partitioning_changed",
            "Restores that found the changelog's partitioning changed (it grew): refused.",
            value=self.changed(),
        )


def register_restore_metrics(
    registry: CollectorRegistry,
    found: Callable[[], int],
    held: Callable[[], int],
    changed: Callable[[], int],
) -> None:
    registry.register(RestoreCollector(found, held, changed))

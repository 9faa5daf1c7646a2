"""The orchestrator's handler: each consumed event is placed (``forwarding``), checked
against its contract and applied to the run store (``intake``), on the event loop when it
is cheap and in a thread otherwise; ``tick`` enforces deadlines; ``commit``/``rollback``
follow the runtime's deliveries. Restoring runs from the changelog is ``restore``'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from impact_runtime import Incoming, Outgoing
from impact_runtime.outage import Stopping
from impact_runtime.structs import Output

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.changelog import Part, encode_part, record_key
from impact_orchestrator.forwarding import elsewhere
from impact_orchestrator.intake import intake
from impact_orchestrator.manifest import Catalogs, default_catalogs
from impact_orchestrator.outputs import Record, Reject
from impact_orchestrator.ownership import owner_partition, ownership_count
from impact_orchestrator.restore import ChangelogChanged, ChangelogRestore
from impact_orchestrator.run_state import RunState
from impact_orchestrator.settings import Settings
from impact_orchestrator.store import Change, RunStore
from impact_orchestrator.validation import check_run_id

#: Results of runs this small are applied on the event loop (no thread hop per event).
INLINE_INTAKE_MAX_INITIATIVES = 10


def _lazy_part(state: RunState, part: Part) -> Callable[[], bytes | None]:
    """Encoded only if it is the part's last record in the batch (see ``Record``), from
    the run's state at the end of the batch."""
    return lambda: encode_part(state, part)


class Orchestrator(ChangelogRestore):
    """Binds a :class:`RunStore` to the runtime: handler, tick and partition assignment."""

    def __init__(
        self,
        settings: Settings,
        catalogs: Catalogs | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        #: epoch seconds for runs and deadlines (default: the wall clock, and the
        #: runtime's time at each tick); tests of deadlines in days set their own
        self.clock = clock
        self.store = RunStore()
        #: of every input topic, read from the broker by ``prepare`` (FakeBus: partition 0)
        self.partition_count = 1
        self._catalogs = catalogs
        self._loading: asyncio.Future[Catalogs] | None = None
        self._next_offset: dict[tuple[str, int], int] = {}
        self._init_restore()

    async def handle(self, msg: Incoming) -> list[Output]:
        await self.restored.wait()  # aiokafka may fetch while on_assign still restores
        if self.refused is not None:  # the batch is left uncommitted; the service stops
            raise Stopping(str(self.refused))
        if msg.offset < self._next_offset.get((msg.topic, msg.partition), 0):
            try:  # a replayed batch: drop uncommitted state
                await self._rebuild({msg.partition})
            except ChangelogChanged as exc:
                self._refuse(exc)
                raise Stopping(str(exc)) from exc
        self._next_offset[(msg.topic, msg.partition)] = msg.offset + 1
        run_id = check_run_id(msg.value)
        if (away := elsewhere(msg, run_id, self.partition_count)) is not None:
            return [away]
        if self.restore_error is not None:  # kept on the DLQ, never applied to no state
            return [Reject(f"run {run_id} not restored: {self.restore_error}")]
        if run_id in self.quarantined:
            return [Reject(f"run {run_id} not restored: {self.quarantined[run_id][1]}")]
        now = time.time() if self.clock is None else self.clock()
        catalogs = await self.loaded_catalogs()
        args = (self.store, msg.event, msg.value, msg.partition, now, catalogs)
        if self._small_result(msg.event, run_id, msg.value):
            change, rejected = intake(*args)
        else:  # a manifest, or a large run's fan-out, takes seconds: off the event loop
            change, rejected = await asyncio.to_thread(intake, *args)
        outputs = self._outputs([change] if change else [])
        return [*outputs, Reject(rejected)] if rejected else outputs

    def _small_result(self, event: str, run_id: str, value: dict[str, Any]) -> bool:
        """Whether the intake is cheap enough for the event loop (a thread hop costs more):
        a result of a run of at most ``INLINE_INTAKE_MAX_INITIATIVES`` initiatives, a pilot
        measurement (an evaluate command and a progress event), or a scale measurement or
        evaluation that cannot complete its barrier. A manifest, an allocation (the scale
        fan-out) and the result that completes a barrier (the allocate request or the report,
        each as large as the run) take seconds for a large run: a thread."""
        state = self.store.states.get(run_id)
        if event == "manifest_submitted" or state is None:
            return False
        if (
            len(state.manifest.initiatives if state.manifest else ())
            <= INLINE_INTAKE_MAX_INITIATIVES
        ):
            return True
        if event == "measure_completed":
            if value.get("phase") == "pilot":
                return True
            barrier = state.scaled
        elif event == "evaluate_completed":
            barrier = state.evaluated
        else:
            return False
        settled, expected = barrier.progress()
        return expected - settled > 1

    @property
    def catalogs(self) -> Catalogs:
        """The component catalogs manifests are checked against (default: installed)."""
        if self._catalogs is None:
            self._catalogs = default_catalogs()
        return self._catalogs

    async def loaded_catalogs(self) -> Catalogs:
        """``catalogs``, imported in a thread: importing every stage package takes
        seconds, which must not block the event loop (heartbeats, readyz)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(lambda: self.catalogs))
        return await self._loading

    async def prepare(self, inputs: list[str]) -> None:
        """Before consuming: every input topic and the changelog exist; run ownership is
        computed with the changelog's partition count, which the inputs may exceed (they
        grew) but not fall short of; the catalogs start loading in a thread
        (``OrchestratorService.start`` waits for them after the loop started).

        Raises:
            ConfigError: the inputs differ in partition count while the changelog is to be
                created, or one has fewer partitions than the changelog.
        """
        topics = self.bus_topics
        await topics.ensure(set(inputs))
        counts = await topics.partitions(inputs)
        changelog = self.settings.changelog_topic
        found = await topics.partitions_if_exists(changelog)
        owners = ownership_count(counts, changelog, found)
        if found is None:
            await topics.ensure({changelog}, partitions=owners, compacted=True)
            found = (await topics.partitions([changelog]))[changelog]
            owners = ownership_count(counts, changelog, found)  # another replica created it
        self.partition_count = owners
        self._changelog_ready = True
        if self._loading is None:  # a retried prepare (broker not up yet) loads them once
            self._loading = asyncio.ensure_future(asyncio.to_thread(lambda: self.catalogs))

    def tick(self, now: float) -> list[Output]:
        if not self.restored.is_set():  # deadlines of runs still loading wait for them
            return []
        return self._outputs(self.store.tick(now if self.clock is None else self.clock()))

    def commit(self) -> None:
        """The runtime delivered what was handled so far (``StateHooks``)."""
        self.store.commit()

    def rollback(self) -> None:
        """The runtime could not deliver it: back to the last delivered states."""
        self.store.rollback()

    def _outputs(self, changes: list[Change]) -> list[Output]:
        outputs: list[Output] = []
        for state, commands in changes:
            if any(c.event == "run_completed" for c in commands):
                archive_completed(state)  # rewritten whole if a batch is replayed
            # every event names its run: a tick's outputs have no cause to copy it from
            run = {"run_id": state.run_id}
            outputs.extend(Outgoing(c.event, c.key, {**run, **c.payload}) for c in commands)
            owner = owner_partition(state.run_id, self.partition_count)
            topic = self.settings.changelog_topic
            outputs.extend(
                Record(topic, record_key(state.run_id, part), _lazy_part(state, part), owner)
                for part in sorted(self.store.take_parts(state.run_id))
            )
        return outputs

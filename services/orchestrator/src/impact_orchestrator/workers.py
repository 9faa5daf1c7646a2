"""Where embedded mode runs component calls: threads, or worker processes.

Threads share the GIL, so CPU-bound components (a MEASURE fit is ~11 ms of Python and
numpy) use about one core whatever ``max_workers`` says; worker processes use every core.
:class:`ComponentPool` runs calls on threads from the start and, when processes are
chosen, starts them in the background (``forkserver``: the heavy imports happen once in
the server, each worker forks from it warm); once a worker answers, queued calls go to
the processes. Commands and events are plain dicts; the catalogs are pickled by
reference (each class by module and name), so a worker resolves the same component names,
plugins included, and runs the same handlers (``ComponentExecutor``).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any, Literal

from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor, Event
from impact_orchestrator.manifest import Catalogs
from impact_orchestrator.worker_processes import (
    CallResult,
    WorkerProcesses,
    pickled_catalogs,
    timed_calls,
)

ExecutorKind = Literal["auto", "process", "thread"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("auto", "process", "thread")
#: ``auto`` starts worker processes once this many measurements wait at the same time:
#: the fork server's imports cost ~2 CPU-s (8 without bytecode caches), which at 100
#: measurements (~1.5 CPU-s) slowed runs by 1.5x (BENCHMARKS.md section 1).
PROCESS_MIN_CALLS = 200
#: Calls that go to worker processes: the CPU-bound ones.
PROCESS_EVENTS = frozenset({"measure_requested"})
#: Chunks handed to each worker process at a time (one running, the rest queued), and
#: the most calls per chunk (smaller as the queue empties, so workers end together).
PER_PROCESS = 3
MAX_CHUNK = 8


@dataclass
class EmbeddedStats:
    """What an embedded run cost: CPU seconds of the component calls by stage (each
    call's own thread or worker CPU), of the orchestrator (the calling thread: manifest
    intake, transitions, report) and how many calls ran on threads and in processes."""

    component_cpu_s: dict[str, float] = field(default_factory=dict)
    orchestrator_cpu_s: float = 0.0
    calls: dict[str, int] = field(default_factory=lambda: {"thread": 0, "process": 0})

    @property
    def cpu_s(self) -> float:
        return sum(self.component_cpu_s.values()) + self.orchestrator_cpu_s


class ComponentPool:
    """Runs ``*_requested`` commands; :meth:`results` returns them as they finish.

    Only ``measure_requested`` (``PROCESS_EVENTS``) goes to worker processes: an
    evaluation costs microseconds, less than the trip to a process, and the one
    allocation per run runs alone at its barrier, where a thread has the GIL to itself.

    Arguments:
        execute: runs one command in this process (the thread path).
        catalogs: sent to the worker processes.
        workers: threads, and worker processes when they are used.
        kind: ``thread``; ``process``: every measurement in a worker process; ``auto``:
            threads, and processes once they answer when ``workers > 1``, the catalogs
            pickle and ``PROCESS_MIN_CALLS`` measurements wait at once.
        stats: receives each call's CPU seconds and where it ran.

    Raises:
        ValueError: an unknown ``kind``; ``kind="process"`` with catalogs that do not
            pickle (a component class defined in ``__main__`` or inside a function).
    """

    def __init__(
        self,
        execute: ComponentExecutor,
        catalogs: Catalogs,
        workers: int,
        kind: ExecutorKind,
        stats: EmbeddedStats,
    ) -> None:
        if kind not in EXECUTOR_KINDS:
            raise ValueError(f"executor: must be one of {', '.join(EXECUTOR_KINDS)}, got {kind!r}")
        self._execute = execute
        self._workers = workers
        self._kind = kind
        self._stats = stats
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="component")
        self._processes: WorkerProcesses | None = None
        self._local: deque[Command] = deque()  # always on threads
        self._heavy: deque[Command] = deque()  # on processes once they answer
        self._running: dict[Future[list[CallResult]], tuple[list[Command], str]] = {}
        self._blob = pickled_catalogs(catalogs)
        if kind == "process" and self._blob is None:
            raise ValueError("executor=process: the component catalogs cannot be pickled")
        self._min_calls = {"thread": None, "process": 0, "auto": PROCESS_MIN_CALLS}[kind]
        if workers < 2 and kind == "auto":
            self._min_calls = None

    @property
    def busy(self) -> bool:
        return bool(self._local or self._heavy or self._running)

    def submit(self, commands: list[Command]) -> None:
        for command in commands:
            (self._heavy if command.event in PROCESS_EVENTS else self._local).append(command)
        wanted = self._min_calls is not None and len(self._heavy) >= self._min_calls
        if wanted and self._heavy and self._processes is None and self._blob is not None:
            self._processes = WorkerProcesses(self._workers, self._blob)
        self._fill()

    def results(self, timeout: float | None) -> list[tuple[Command, Event]]:
        """The calls that finished within ``timeout`` (maybe none), in a stable order."""
        ready = None if self._processes is None else self._processes.ready
        waiting: set[Future[Any]] = set(self._running)
        if ready is not None and not ready.done():
            waiting.add(ready)
        finished, _ = wait_for(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
        if ready is not None and ready.done():
            ready.result()  # workers that cannot start are an error, not a stall
        done = []
        for future in finished - {ready}:
            commands, where = self._running.pop(future)
            for command, (event, cpu_s, counts) in zip(commands, future.result(), strict=True):
                stage = command.event.removesuffix("_requested")
                cpu = self._stats.component_cpu_s
                cpu[stage] = cpu.get(stage, 0.0) + cpu_s
                self._stats.calls[where] += 1
                if where == "process":
                    _mirror_counts(command, counts)
                done.append((command, event))
        self._fill()
        return sorted(
            done, key=lambda item: f"{item[1][0]}:{item[1][1].get('initiative_id') or ''}"
        )

    def close(self) -> None:
        """Stop both pools; worker processes still busy (a straggler past the deadline)
        are terminated, so they cannot outlive the run."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._processes is not None:
            self._processes.close(busy=any(w == "process" for _, w in self._running.values()))

    def _fill(self) -> None:
        """Hand queued calls out: measurements to the processes once they answer (in
        chunks, a few per worker at a time: each trip and each wait has a cost), the
        rest, and measurements until then, to the threads."""
        warm = self._processes is not None and self._processes.up
        in_flight = {"thread": 0, "process": 0}
        for _, where in self._running.values():
            in_flight[where] += 1
        while warm and self._heavy and in_flight["process"] < PER_PROCESS * self._workers:
            assert self._processes is not None
            size = max(1, min(MAX_CHUNK, len(self._heavy) // (PER_PROCESS * self._workers)))
            chunk = [self._heavy.popleft() for _ in range(min(size, len(self._heavy)))]
            self._running[self._processes.call(chunk)] = (chunk, "process")
            in_flight["process"] += 1
        threaded = warm or self._kind == "process"  # measurements wait for the workers
        while in_flight["thread"] < self._workers and (
            self._local or (self._heavy and not threaded)
        ):
            command = (self._local or self._heavy).popleft()
            future = self._threads.submit(timed_calls, self._execute, [command])
            self._running[future] = ([command], "thread")
            in_flight["thread"] += 1


def _mirror_counts(command: Command, counts: tuple[int, int]) -> None:
    """Add a worker's measure fits/hits to this process's ``impact_measure.cache.COUNTS``
    (what a thread would have added), so the counts read the same with either executor."""
    if counts == (0, 0):
        return
    from impact_measure.api import COUNTS

    model = str(command.payload["measure_config"]["MEASUREMENT"]["MODEL"])
    for kind, count in zip(("fit", "hit"), counts, strict=True):
        for _ in range(count):
            COUNTS.add(kind, model)

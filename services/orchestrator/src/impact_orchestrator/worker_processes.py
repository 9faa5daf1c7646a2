"""Embedded mode's worker processes: started in the background from a ``forkserver``
whose heavy imports happen once (``PRELOAD``); each worker takes the caller's
environment, import path and catalogs (pickled by reference) and runs commands with
the same ``ComponentExecutor`` as a thread would."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from impact_contracts.components import ComponentCatalog

from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor, Event
from impact_orchestrator.manifest import Catalogs

#: What the fork server imports once, so that every worker starts with them loaded: only
#: what a measurement needs (the evaluate and allocate components, PuLP among them, cost
#: ~1 CPU-s more, spent while the run waits for its workers).
PRELOAD = ["impact_orchestrator.worker_processes", "impact_measure.component"]

#: A call's result: its event, the CPU seconds it used, and (in a worker process) the
#: measure cache's (fits, hits) it added, which this process mirrors.
CallResult = tuple[Event, float, tuple[int, int]]


class WorkerProcesses:
    """``workers`` processes started by a background thread (the fork server's imports
    take seconds, the run goes on meanwhile); ``ready`` resolves once one answers."""

    def __init__(self, workers: int, blob: bytes) -> None:
        self.ready: Future[None] = Future()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(
            target=self._start, args=(workers, blob), name="component-workers", daemon=True
        ).start()

    @property
    def up(self) -> bool:
        return self.ready.done() and self.ready.exception() is None

    def call(self, commands: list[Command]) -> Future[list[CallResult]]:
        assert self._pool is not None
        return self._pool.submit(_calls_in_worker, commands)

    def close(self, busy: bool) -> None:
        with self._lock:
            self._closed, pool = True, self._pool
        if pool is None:
            return  # still starting: the starter stops them
        if busy:  # Python 3.14 has pool.terminate_workers()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def _start(self, workers: int, blob: bytes) -> None:
        try:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            pool = ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(blob, dict(os.environ), list(sys.path)),
            )
            with _main_left_out():  # each submit starts one worker, up to ``workers``
                answers = [pool.submit(os.getpid) for _ in range(workers)]
            with self._lock:
                closed = self._closed
                self._pool = None if closed else pool
            if closed:
                pool.shutdown(wait=True, cancel_futures=True)
                return
            answers[0].result()
            self.ready.set_result(None)
        except BaseException as exc:  # handed to the run through ``ready``
            self.ready.set_exception(exc)


def timed_calls(execute: ComponentExecutor, commands: list[Command]) -> list[CallResult]:
    """``execute(command)`` for each, and the CPU seconds this thread spent on each."""
    results = []
    for command in commands:
        started = time.thread_time()
        event = execute(command)
        results.append((event, time.thread_time() - started, (0, 0)))
    return results


def pickled_catalogs(catalogs: Catalogs) -> bytes | None:
    """What a worker needs of the catalogs, by reference: the measure catalog only
    (workers run ``PROCESS_EVENTS``); None when a class cannot be imported by name."""
    measure = catalogs.measure
    if any(measure.get(name).__module__ == "__main__" for name in measure.names()):
        return None
    for_workers = Catalogs(
        measure,
        ComponentCatalog(catalogs.evaluate.stage),
        ComponentCatalog(catalogs.allocate.stage),
    )
    try:
        return pickle.dumps(for_workers)
    except (pickle.PicklingError, AttributeError, TypeError):
        return None


@contextmanager
def _main_left_out() -> Iterator[None]:
    """Start workers without re-running the caller's ``__main__`` (multiprocessing would
    import a script's top level again in each worker, where an unguarded
    ``run_embedded(...)`` call recurses). Workers need only the catalogs' modules."""
    with _MAIN_SWAP:  # two runs starting workers at once must not restore each other's
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


_MAIN_SWAP = threading.Lock()


# --- in the worker process ---------------------------------------------------------------

_WORKER: ComponentExecutor | None = None


def _start_worker(blob: bytes, environ: dict[str, str], path: list[str]) -> None:
    """Initializer: the caller's environment and import path (a fork server keeps those
    of its own start), then the caller's catalogs (importing their modules)."""
    global _WORKER
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    _WORKER = ComponentExecutor(pickle.loads(blob))


def _calls_in_worker(commands: list[Command]) -> list[CallResult]:
    from impact_measure.api import COUNTS

    assert _WORKER is not None, "worker not initialised"
    results = []
    for command in commands:
        fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
        [(event, cpu_s, _)] = timed_calls(_WORKER, [command])
        results.append((event, cpu_s, (COUNTS.total("fit") - fits, COUNTS.total("hit") - hits)))
    return results

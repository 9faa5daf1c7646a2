"""Calling a handler or a tick: async on the loop, sync in a worker thread (or inline)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def on_event_loop(handle: F) -> F:
    """Mark a sync handler that returns at once: the service calls it on the event loop
    instead of a worker thread (saving the thread hop)."""
    handle.on_event_loop = True  # type: ignore[attr-defined]
    return handle


def runs_on_event_loop(handle: Callable[..., Any]) -> bool:
    """Whether ``handle`` was marked with ``on_event_loop``."""
    return bool(getattr(handle, "on_event_loop", False))


async def call_handler(
    handle: Callable[..., Any],
    *args: Any,
    in_thread: bool = True,
    on_cpu: Callable[[float], None] | None = None,
) -> Any:
    """Await an async handler; run a sync one in a worker thread (``in_thread``, the
    default: it may block) or, for a handler that returns at once, on the event loop.

    ``on_cpu`` is given a sync handler's CPU seconds: the CPU clock of the thread it ran
    on, so the work of other threads and processes on the machine is not counted.
    """
    if inspect.iscoroutinefunction(handle):
        return await handle(*args)
    if in_thread:
        result, cpu_s = await asyncio.to_thread(_on_thread_clock, handle, args)
    else:
        result, cpu_s = _on_thread_clock(handle, args)
    if on_cpu is not None:
        on_cpu(cpu_s)
    if inspect.isawaitable(result):
        result = await result
    return result


def _on_thread_clock(handle: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    """``handle(*args)`` and the CPU seconds it took on this thread."""
    started = time.thread_time()
    result = handle(*args)
    return result, time.thread_time() - started

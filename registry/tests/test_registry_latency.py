"""Registry latency: each known cause of a slow request, checked where it arises.

* No Nagle/delayed-ACK stall: the server's connections have TCP_NODELAY. Without it,
  uvicorn's response (headers, then body: two writes) waited for the client's delayed
  ACK, about 40 ms per request on loopback whatever the load.
* No module search per client request: httpcore looks for ``sniffio`` on every async
  request; without it installed, each lookup scanned sys.path (3-4 ms per request here).
"""

from __future__ import annotations

import importlib.abc
import socket
import statistics
import sys
import time
from typing import Any

import httpx
import pytest
from impact_registry.__main__ import listening_socket
from impact_schemas.registry import RegistryClient

#: Below the 40 ms delayed-ACK timer with room for a loaded machine.
STALL_MS = 35.0


def test_the_listening_socket_is_tcp_with_nodelay() -> None:
    with listening_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.integration
def test_keep_alive_requests_do_not_wait_for_delayed_acks(schema_registry_url: str) -> None:
    timings = []
    with httpx.Client(base_url=schema_registry_url) as http:
        for _ in range(30):
            started = time.perf_counter()
            assert http.get("/schemas/types").status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    assert statistics.median(timings) < STALL_MS, sorted(timings)


class _ImportRecorder(importlib.abc.MetaPathFinder):
    """Records every module lookup that reaches the import system (none are found here)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        self.names.append(fullname)


@pytest.mark.integration
async def test_client_requests_do_not_search_for_modules(schema_registry_url: str) -> None:
    """httpcore imports ``sniffio`` on every async request; when it is missing, each import
    fails and searches sys.path again (about 1 ms each, several per request)."""
    async with RegistryClient(schema_registry_url) as client:
        await client.get_schema_types()  # warm up: the first request may import lazily
        recorder = _ImportRecorder()
        sys.meta_path.insert(0, recorder)
        try:
            for _ in range(5):
                await client.get_schema_types()
        finally:
            sys.meta_path.remove(recorder)
    assert recorder.names == []

"""No Nagle/delayed-ACK stall: the server's connections have TCP_NODELAY (issue 14).

Without it, uvicorn's response (headers, then body: two writes) waited for the client's
delayed ACK, about 40 ms per request on loopback whatever the load.
"""

from __future__ import annotations

import socket
import statistics
import time

import httpx
import pytest
from impact_schemas.registry.__main__ import listening_socket

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

"""Schema-registry latency: GET by id, register, 1,000 registrations, restart.

Run: ``uv run python -m bench.registry_bench`` (starts its own broker and registry).
Requests go over loopback from one httpx client with keep-alive (as ``RegistryClient``
sends them, caches bypassed) and, for GET by id, from a new connection per request.
Targets: GET by id p50 < 3 ms, register p50 < 15 ms, restart < 5 s.
Writes ``bench/results/registry.json``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from impact_schemas.registry.client import CONTENT_TYPE

from bench.broker import Platform, _start_registry, platform_main, stop_process
from bench.machine import machine
from bench.results import markdown_table, percentile, write_result

GETS = 500
REGISTRATIONS = 1000
HEADERS = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
TARGETS_MS = {
    "GET /schemas/ids/{id} (raw socket, keep-alive)": 3.0,
    "GET /schemas/ids/{id} (keep-alive)": 3.0,
    "POST /subjects/{s}/versions": 15.0,
}
METHOD = (
    f"Loopback HTTP to our registry server process (one uvicorn worker, _schemas on a local "
    f"KRaft broker, acks=all). GET by id: {GETS} requests of one id over one keep-alive "
    f"socket with no client library (the server's latency), from one keep-alive httpx "
    f"AsyncClient, and with a new connection each. Register: {REGISTRATIONS} new schemas, "
    "one subject each, sequentially from one keep-alive client (each one produced to Kafka "
    "and acknowledged before the reply). Restart: a second server process on the same topic, "
    "from spawn until GET /subjects answers. Milliseconds; p50/p99 over the requests."
)


def _schema(n: int) -> str:
    fields = [{"name": "id", "type": "string"}, {"name": f"f{n}", "type": "long"}]
    return json.dumps({"type": "record", "name": f"Bench{n}", "fields": fields})


async def _timed(call: Callable[[], Awaitable[httpx.Response]], count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = await call()
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def raw_gets(url: str, path: str, count: int) -> list[float]:
    """GETs over one keep-alive socket with no client library: the server's own latency."""
    host, port = url.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    timings = []
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(request)
            answer = b""
            while not answer.endswith(b"}"):
                answer += sock.recv(65536)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


async def measure(url: str) -> dict[str, list[float]]:
    """Per-request milliseconds for each kind of request."""
    prefix = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=url, headers=HEADERS) as http:
        registered = []
        for n in range(REGISTRATIONS):
            body = json.dumps({"schema": _schema(n)})
            started = time.perf_counter()
            response = await http.post(f"/subjects/{prefix}-{n}/versions", content=body)
            registered.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        schema_id = response.json()["id"]
        keep_alive = await _timed(lambda: http.get(f"/schemas/ids/{schema_id}"), GETS)

    no_keep_alive = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=no_keep_alive) as http:
        fresh = await _timed(lambda: http.get(f"/schemas/ids/{schema_id}"), GETS)
    return {
        "GET /schemas/ids/{id} (raw socket, keep-alive)": raw_gets(
            url, f"/schemas/ids/{schema_id}", GETS
        ),
        "GET /schemas/ids/{id} (keep-alive)": keep_alive,
        "GET /schemas/ids/{id} (new connection)": fresh,
        "POST /subjects/{s}/versions": registered,
    }


def restart_s(platform: Platform) -> float:
    """Seconds until a second server on the same topic answers (state replayed)."""
    started = time.perf_counter()
    process, _ = _start_registry(platform.bootstrap, platform.work_dir)
    elapsed = time.perf_counter() - started
    stop_process(process)
    return elapsed


def summary(name: str, timings: list[float]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "requests": len(timings),
        "p50_ms": round(percentile(timings, 50), 2),
        "p99_ms": round(percentile(timings, 99), 2),
        "total_s": round(sum(timings) / 1000, 2),
    }
    if name in TARGETS_MS:
        row["target_p50_ms"] = TARGETS_MS[name]
        row["meets_target"] = row["p50_ms"] < TARGETS_MS[name]
    return row


def benchmark(platform: Platform) -> dict[str, Any]:
    started = machine()
    rows = {
        name: summary(name, t) for name, t in asyncio.run(measure(platform.registry_url)).items()
    }
    restart = round(restart_s(platform), 2)
    results = {"requests": rows, "restart_s": restart, "restart_target_s": 5.0}
    headers = ["request", "n", "p50 ms", "p99 ms", "total s", "target p50"]
    cells = [
        [name, r["requests"], r["p50_ms"], r["p99_ms"], r["total_s"], r.get("target_p50_ms", "")]
        for name, r in rows.items()
    ]
    print(markdown_table(headers, cells))
    print(f"restart (spawn → GET /subjects answers, {REGISTRATIONS} schemas): {restart} s")
    print(f"wrote {write_result('registry', METHOD, results, started)}")
    return results


def main() -> None:
    platform_main(__doc__, benchmark)


if __name__ == "__main__":
    main()

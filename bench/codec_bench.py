"""Avro codec cost per event vs ``json.dumps``/``json.loads``.

Run: ``uv run python -m bench.codec_bench`` (starts its own broker and registry).
Three ways, same logical event values (``impact_schemas.examples`` plus a 1,000-initiative
manifest): ``AvroCodec`` with the real registry (wire header, JSON-field conversion,
contract checks on decode; ids cached after the first call), fastavro ``schemaless``
with the parsed schema (the pure Avro cost), and the JSON round trip of the logical value.
Writes ``bench/results/codec.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import fastavro
from impact_schemas.catalog import event_spec, topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.events import new_envelope, to_avro
from impact_schemas.examples import EXAMPLES, example
from impact_schemas.registry.client import RegistryClient

from bench.broker import Platform, running_platform
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result

REPEATS = 5
TARGET_S = 0.05
METHOD = (
    "Per event: the best of 5 repeats of a loop sized to run >= 50 ms, in microseconds per "
    "call. AvroCodec = impact_schemas.codec.AvroCodec against the real registry (schema ids "
    "cached after the first call). fastavro = schemaless_writer/reader with the parsed "
    "schema on the Avro record (pure codec). JSON = json.dumps(value, default=str) / "
    "json.loads of the logical value. Sizes in bytes (Avro includes the 5-byte wire header)."
)


def _loops(call: Callable[[], Any]) -> int:
    loops, started = 1, time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    while elapsed * loops < TARGET_S:
        loops *= 2
    return loops


def per_call_us(call: Callable[[], Any]) -> float:
    """Microseconds per call: best of ``REPEATS`` loops of at least ``TARGET_S`` seconds."""
    loops, best = _loops(call), float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(loops):
            call()
        best = min(best, (time.perf_counter() - started) / loops)
    return best * 1e6


async def per_await_us(call: Callable[[], Awaitable[Any]]) -> float:
    """Microseconds per awaited call, like :func:`per_call_us`."""
    started = time.perf_counter()
    await call()
    elapsed = max(time.perf_counter() - started, 1e-7)
    loops = max(1, int(TARGET_S / elapsed))
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(loops):
            await call()
        best = min(best, (time.perf_counter() - started) / loops)
    return best * 1e6


def sample_events() -> dict[str, tuple[str, dict[str, Any]]]:
    """Label → (event name, logical value): every example event and a 1,000-initiative one."""
    samples = {name: (name, example(name)) for name in EXAMPLES}
    manifest = generate_manifest(1_000, Path(tempfile.mkdtemp())).to_event_payload()
    large = {**new_envelope("bench-codec"), **manifest}
    large["schema_version"] = event_spec("manifest_submitted").version
    samples["manifest_submitted (1,000 initiatives)"] = ("manifest_submitted", large)
    return samples


async def measure_event(codec: AvroCodec, event: str, value: dict[str, Any]) -> dict[str, Any]:
    topic = topic_for(event)
    wire = await codec.encode(event, value, topic)
    await codec.decode(wire, topic)
    parsed = event_spec(event).parsed_schema
    record = to_avro(event, value)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    avro_bytes = buffer.getvalue()
    text = json.dumps(value, default=str)

    def fast_encode() -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, record)
        return out.getvalue()

    row = {
        "avro_bytes": len(wire),
        "json_bytes": len(text.encode()),
        "codec_encode_us": await per_await_us(lambda: codec.encode(event, value, topic)),
        "codec_decode_us": await per_await_us(lambda: codec.decode(wire, topic)),
        "fastavro_encode_us": per_call_us(fast_encode),
        "fastavro_decode_us": per_call_us(
            lambda: fastavro.schemaless_reader(io.BytesIO(avro_bytes), parsed, parsed)
        ),
        "json_encode_us": per_call_us(lambda: json.dumps(value, default=str)),
        "json_decode_us": per_call_us(lambda: json.loads(text)),
    }
    json_round = row["json_encode_us"] + row["json_decode_us"]
    row["codec_over_json"] = (row["codec_encode_us"] + row["codec_decode_us"]) / json_round
    row["fastavro_over_json"] = (row["fastavro_encode_us"] + row["fastavro_decode_us"]) / json_round
    return {key: round(v, 2) if isinstance(v, float) else v for key, v in row.items()}


async def measure_all(registry_url: str) -> dict[str, dict[str, Any]]:
    registry = RegistryClient(registry_url)
    codec = AvroCodec(registry)
    try:
        return {
            label: {"event": event, **await measure_event(codec, event, value)}
            for label, (event, value) in sample_events().items()
        }
    finally:
        await registry.aclose()


def benchmark(platform: Platform) -> dict[str, dict[str, Any]]:
    started = machine()
    rows = asyncio.run(measure_all(platform.registry_url))
    headers = ["event", "Avro B", "JSON B", "AvroCodec enc/dec µs", "fastavro enc/dec µs"]
    headers += ["JSON enc/dec µs", "AvroCodec/JSON", "fastavro/JSON"]
    cells = [
        [
            label,
            r["avro_bytes"],
            r["json_bytes"],
            f"{r['codec_encode_us']:.1f} / {r['codec_decode_us']:.1f}",
            f"{r['fastavro_encode_us']:.1f} / {r['fastavro_decode_us']:.1f}",
            f"{r['json_encode_us']:.1f} / {r['json_decode_us']:.1f}",
            f"{r['codec_over_json']:.1f}",
            f"{r['fastavro_over_json']:.2f}",
        ]
        for label, r in rows.items()
    ]
    print(markdown_table(headers, cells))
    path = write_result("codec", METHOD, rows, started)
    print(f"wrote {path}")
    return rows


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with running_platform() as platform:
        benchmark(platform)


if __name__ == "__main__":
    main()

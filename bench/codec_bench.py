"""Avro codec cost per event against its peer, raw fastavro, and against ``json``.

Run: ``uv run python -m bench.codec_bench [--repeats 41]`` (starts its own broker and
registry). Same logical event values (``impact_schemas.examples`` plus a 1,000-initiative
manifest), measured interleaved (each repeat times every variant once, in turn, so load
changes hit them alike): ``AvroCodec`` as the services use it (wire header, JSON fields,
no nested contract checks: their components check each event), ``AvroCodec`` with its
default nested contract checks (the CLI's), raw fastavro ``schemaless_writer``/``reader``
with the parsed schema on the Avro record (the peer), and the JSON round trip of the
logical value. Writes ``bench/results/codec.json``.
"""

from __future__ import annotations

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

from bench.broker import Platform, platform_main
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result

REPEATS = 41
TARGET_S = 0.005
LARGE = "manifest_submitted (1,000 initiatives)"
METHOD = (
    "Per event, CPU µs per call (time.thread_time: time the machine's other load takes "
    "from the benchmark thread is not counted): the best of {repeats} interleaved repeats "
    "(each repeat times every variant in turn) of a loop sized to take >= 5 ms. "
    "codec = AvroCodec(registry, check_contracts=False), as the services use it (their "
    "components check each event); "
    "checked = AvroCodec's default decode, with nested contract checks (the CLI's). "
    "fastavro = schemaless_writer/reader with the parsed schema on the Avro record (the "
    "peer; no reader schema). JSON = json.dumps(value, default=str) / json.loads of the "
    "logical value. Ratios are (encode + decode) sums. Sizes in bytes (Avro includes the "
    "5-byte wire header). Real registry over loopback; ids cached after the first call."
)

Call = Callable[[], Awaitable[Any]]


#: The command line: flag -> argparse keywords.
OPTIONS: dict[str, dict[str, Any]] = {
    "--repeats": {"type": int, "default": REPEATS},
    "--name": {"default": "codec", "help": "bench/results/<name>.json"},
}


def sample_events() -> dict[str, tuple[str, dict[str, Any]]]:
    """Label → (event name, logical value): every example event and a 1,000-initiative one."""
    samples = {name: (name, example(name)) for name in EXAMPLES}
    manifest = generate_manifest(1_000, Path(tempfile.mkdtemp())).to_event_payload()
    large = {**new_envelope("bench-codec"), **manifest}
    large["schema_version"] = event_spec("manifest_submitted").version
    samples[LARGE] = ("manifest_submitted", large)
    return samples


def awaitable(call: Callable[[], Any]) -> Call:
    """A synchronous call as an awaitable one, so every variant runs in the same loop."""

    async def run() -> Any:
        return call()

    return run


async def _loops(call: Call) -> int:
    loops, started = 1, time.thread_time()
    await call()
    elapsed = max(time.thread_time() - started, 1e-6)
    while elapsed * loops < TARGET_S:
        loops *= 2
    return loops


async def interleaved_us(calls: dict[str, Call], repeats: int) -> dict[str, float]:
    """CPU microseconds per call of each variant: best of ``repeats`` interleaved loops."""
    loops = {name: await _loops(call) for name, call in calls.items()}
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.thread_time()
            for _ in range(loops[name]):
                await call()
            best[name] = min(best[name], (time.thread_time() - started) / loops[name])
    return {name: seconds * 1e6 for name, seconds in best.items()}


def ratios(row: dict[str, Any]) -> dict[str, float]:
    """The round-trip ratios a row reports (encode + decode sums)."""
    peer = row["fastavro_encode_us"] + row["fastavro_decode_us"]
    codec = row["codec_encode_us"] + row["codec_decode_us"]
    checked = row["codec_encode_us"] + row["checked_decode_us"]
    json_round = row["json_encode_us"] + row["json_decode_us"]
    return {
        "codec_over_fastavro": codec / peer,
        "checked_over_fastavro": checked / peer,
        "codec_over_json": codec / json_round,
        "fastavro_over_json": peer / json_round,
    }


async def measure_event(
    codec: AvroCodec, checked: AvroCodec, event: str, value: dict[str, Any], repeats: int
) -> dict[str, Any]:
    topic = topic_for(event)
    wire = await codec.encode(event, value, topic)
    assert await codec.decode(wire, topic) == await checked.decode(wire, topic)
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

    calls: dict[str, Call] = {
        "fastavro_encode": awaitable(fast_encode),
        "codec_encode": lambda: codec.encode(event, value, topic),
        "fastavro_decode": awaitable(
            lambda: fastavro.schemaless_reader(io.BytesIO(avro_bytes), parsed, None)
        ),
        "codec_decode": lambda: codec.decode(wire, topic),
        "checked_decode": lambda: checked.decode(wire, topic),
        "json_encode": awaitable(lambda: json.dumps(value, default=str)),
        "json_decode": awaitable(lambda: json.loads(text)),
    }
    timed = await interleaved_us(calls, repeats)
    row: dict[str, Any] = {"avro_bytes": len(wire), "json_bytes": len(text.encode())}
    row |= {f"{name}_us": us for name, us in timed.items()}
    row |= ratios(row)
    return {key: round(v, 2) if isinstance(v, float) else v for key, v in row.items()}


async def measure_all(registry_url: str, repeats: int) -> dict[str, dict[str, Any]]:
    registry = RegistryClient(registry_url)
    codec = AvroCodec(registry, check_contracts=False)
    checked = AvroCodec(registry)
    try:
        return {
            label: {"event": event, **await measure_event(codec, checked, event, value, repeats)}
            for label, (event, value) in sample_events().items()
        }
    finally:
        await registry.aclose()


def table(rows: dict[str, dict[str, Any]]) -> str:
    headers = ["event", "Avro B", "JSON B", "fastavro enc / dec µs", "codec enc / dec µs"]
    headers += ["checked dec µs", "codec / fastavro", "checked / fastavro", "JSON enc / dec µs"]
    headers += ["codec / JSON"]
    cells = [
        [
            label,
            f"{r['avro_bytes']:,}",
            f"{r['json_bytes']:,}",
            f"{r['fastavro_encode_us']:,.1f} / {r['fastavro_decode_us']:,.1f}",
            f"{r['codec_encode_us']:,.1f} / {r['codec_decode_us']:,.1f}",
            f"{r['checked_decode_us']:,.1f}",
            f"{r['codec_over_fastavro']:.2f}",
            f"{r['checked_over_fastavro']:.2f}",
            f"{r['json_encode_us']:,.1f} / {r['json_decode_us']:,.1f}",
            f"{r['codec_over_json']:.2f}",
        ]
        for label, r in rows.items()
    ]
    return markdown_table(headers, cells)


def benchmark(
    platform: Platform, repeats: int = REPEATS, name: str = "codec"
) -> dict[str, dict[str, Any]]:
    started = machine()
    rows = asyncio.run(measure_all(platform.registry_url, repeats))
    print(table(rows))
    path = write_result(name, METHOD.format(repeats=repeats), rows, started)
    print(f"wrote {path}")
    return rows


def main() -> None:
    platform_main(__doc__.splitlines()[0], benchmark, OPTIONS)


if __name__ == "__main__":
    main()

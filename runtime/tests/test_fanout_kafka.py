"""A very large fan-out on a real broker: one input, tens of thousands of outputs.

The orchestrator turns one ``manifest_submitted`` into one ``measure_requested`` per
initiative, delivered with the input's offset in one transaction (decision 0045). Each
output here carries about 1 KB, as a real command with its measure config does; the
transaction timeout is short, so a delivery that sends records in small batches (one
round trip per ~16 KB) outlives it, is aborted by the broker and replayed for ever.
"""

from __future__ import annotations

import json
import time

import pytest
from impact_runtime import Incoming, JsonCodec, Outgoing, Service
from impact_runtime.consume import ConsumeLoop

from runtime.tests.kafka_io import (
    CommittedReader,
    as_json,
    committed_offsets,
    isolated_settings,
    produce,
    request,
)

pytestmark = pytest.mark.integration

FAN_OUT = 20_000
PADDING = "x" * 1000  # a realistic command size (measure config, ids, envelope)


def count_replays(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every ``ConsumeLoop._recover`` (the path after a failed delivery)."""
    calls: list[bool] = []
    recover = ConsumeLoop._recover

    async def counted(self: ConsumeLoop) -> None:
        calls.append(True)
        await recover(self)

    monkeypatch.setattr(ConsumeLoop, "_recover", counted)
    return calls


def fan_out(incoming: Incoming) -> list[Outgoing]:
    run_id = incoming.value["run_id"]
    return [
        Outgoing("measure_completed", run_id, {"initiative_id": f"i-{n}", "pad": PADDING})
        for n in range(FAN_OUT)
    ]


async def test_a_large_fan_out_commits_exactly_once_in_one_transaction(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replays = count_replays(monkeypatch)
    settings = isolated_settings(kafka_bootstrap, log_level="ERROR")
    prefix = settings.topic_prefix
    source, sink = f"{prefix}measure.requested.v1", f"{prefix}measure.completed.v1"
    service = Service(settings, ["measure_requested"], fan_out, codec=JsonCodec())
    service.output_events = ("measure_completed",)
    async with service:
        started = time.monotonic()
        await produce(kafka_bootstrap, source, [("run-f", as_json(request("run-f", 1)))])
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            await reader.wait_count(FAN_OUT, timeout=90)
            elapsed = time.monotonic() - started
            records = await reader.drain()
        assert service.running
    ids = [json.loads(r.value)["initiative_id"] for r in records]
    print(f"\nfan-out of {FAN_OUT} committed {elapsed:.1f} s after the input")
    assert len(ids) == FAN_OUT
    assert len(set(ids)) == FAN_OUT
    assert replays == []  # the transaction was never aborted and replayed
    offsets = await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 2)
    assert offsets == [1, -1]

"""Poison records: six kinds of bytes no consumer can ever process, for any input topic.

Each is produced with the header ``fault.kind`` (kept in the DLQ copy) so the suite can
tell a poison in a DLQ from a valid event that must never be there.
"""

from __future__ import annotations

import copy
import io
import random
from typing import Any

import fastavro
from aiokafka.partitioner import murmur2
from impact_schemas import wire
from impact_schemas.catalog import event_for_topic, load_schema, subject_for
from impact_schemas.events import to_avro
from impact_schemas.examples import example
from impact_schemas.registry.client import RegistryClient

from tests.support.kafka_clients import topic_config

KINDS = (
    "random_bytes",
    "wrong_magic",
    "unknown_schema_id",
    "wrong_major",
    "contract_violation",
    "oversized",
)
KIND_HEADER = "fault.kind"
RUN_HEADER = "fault.run"
UNKNOWN_SCHEMA_ID = 2**31 - 7
BROKER_DEFAULT_MAX_BYTES = 1_048_588
OVERSIZED_CAP = 4 * 1024 * 1024
#: What the DLQ reason must mention, per kind (lower case); None: any non-empty reason.
REASON_MENTIONS: dict[str, str | None] = {
    "random_bytes": None,
    "wrong_magic": "magic",
    "unknown_schema_id": "schema id",
    "wrong_major": "major",
    "contract_violation": None,  # see CONTRACT_MENTIONS
    "oversized": None,
}


def partition_of(key: str, partitions: int) -> int:
    """The partition the default (murmur2) partitioner puts ``key`` on."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def alias_on_partition(run_id: str, partitions: int) -> str:
    """Another run id on ``run_id``'s partition: the poison's own run, so that a poison
    that decodes never touches the real run, yet precedes its messages."""
    target = partition_of(run_id, partitions)
    index = 0
    while partition_of(f"{run_id}-poison-{index}", partitions) != target:
        index += 1
    return f"{run_id}-poison-{index}"


def _violate(event: str, record: dict[str, Any], initiative_id: str) -> str:
    """Break the contract of an Avro-form ``record`` of ``event`` in place; return the field
    the DLQ reason must name."""
    if event == "manifest_submitted":
        record["budget"] = -1.0
        record["initiatives"] = record["initiatives"][:1] * 2  # a duplicate initiative id
        return "budget"
    if event == "measure_requested":
        record["measure_config"] = "[1, 2]"  # JSON, not an object
        return "measure_config"
    if event == "evaluate_requested":
        record["measure"]["ci_lower"] = record["measure"]["ci_upper"] + 1.0
        return "ci_lower"
    if event == "allocate_requested":
        record["initiatives"][0]["confidence"] = 1.5
        return "confidence"
    if event == "measure_completed":
        record["result"]["ci_lower"] = record["result"]["effect_estimate"] + 1.0
        return "ci_lower"
    if event == "evaluate_completed":
        record["result"]["confidence"] = 1.5
        return "confidence"
    if event == "allocate_completed":
        record["result"]["budget_allocated"] = {initiative_id: 1e12}
        record["result"]["selected_initiatives"] = [initiative_id]
        record["result"]["predicted_returns"] = {initiative_id: 1.0}
        return "budget"
    if event == "stage_failed":
        record["stage"] = "teleport"  # no such stage
        return "stage"
    if event == "run_command":
        record["action"] = "scale"
        record["drop"] = [initiative_id]  # a drop list belongs to approve only
        return "drop"
    raise ValueError(f"no contract violation defined for {event}")


def _example(event: str, run_id: str, initiative_id: str) -> dict[str, Any]:
    value = example(event)
    value["run_id"] = run_id
    for holder in (value, value.get("result"), value.get("measure")):
        if isinstance(holder, dict) and "initiative_id" in holder:
            holder["initiative_id"] = initiative_id
    return value


class PoisonMaker:
    """Builds the poison bytes of each kind for a topic, with real schema ids."""

    def __init__(self, registry: RegistryClient, run_id: str, initiative_id: str, seed: int):
        self.registry = registry
        self.run_id, self.initiative_id = run_id, initiative_id
        self.rng = random.Random(seed)
        self.mentions: dict[str, str] = {}

    async def _wire(
        self, topic: str, record: dict[str, Any], schema: dict[str, Any], subject: str
    ) -> bytes:
        schema_id = await self.registry.register(subject, schema)
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, fastavro.parse_schema(copy.deepcopy(schema)), record)
        return wire.pack(schema_id, buffer.getvalue())

    async def valid(self, topic: str) -> tuple[dict[str, Any], bytes]:
        """A valid Avro record of the topic's event and its wire bytes."""
        event = event_for_topic(topic).name
        schema = load_schema(event)
        record = to_avro(event, _example(event, self.run_id, self.initiative_id), schema)
        return record, await self._wire(topic, record, schema, subject_for(topic))

    async def make(self, topic: str, kind: str, max_bytes: int) -> bytes:
        """The poison of ``kind`` for ``topic`` (``max_bytes``: the topic's record limit)."""
        event = event_for_topic(topic).name
        record, valid = await self.valid(topic)
        if kind == "random_bytes":
            return self.rng.randbytes(64)
        if kind == "wrong_magic":
            return b"\x01" + valid[1:]
        if kind == "unknown_schema_id":
            return wire.pack(UNKNOWN_SCHEMA_ID, valid[wire.HEADER_SIZE :])
        if kind == "wrong_major":
            schema = {**load_schema(event), "version": "2.0"}
            record = {**record, "schema_version": "2.0"}
            return await self._wire(topic, record, schema, f"{topic}.fault-major2-value")
        if kind == "contract_violation":
            record = copy.deepcopy(record)
            self.mentions[topic] = _violate(event, record, self.initiative_id)
            return await self._wire(topic, record, load_schema(event), subject_for(topic))
        if kind == "oversized":
            # As large as the topic takes (batch and record overhead aside): the DLQ copy,
            # with its reason headers, no longer fits as it is.
            size = min(max_bytes, OVERSIZED_CAP) - 160
            return valid + bytes(size - len(valid))
        raise ValueError(f"unknown poison kind {kind!r}")


async def max_message_bytes(bootstrap: str, topic: str) -> int:
    """The topic's effective ``max.message.bytes`` (the broker default if not reported)."""
    found = (await topic_config(bootstrap, topic)).get("max.message.bytes")
    return int(found) if found else BROKER_DEFAULT_MAX_BYTES

"""Between bytes and handler values: decoding a raw message into an ``Incoming``, encoding
a handler's outputs into producer records (envelope fields and headers filled in)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from impact_contracts import ContractViolation, SchemaMismatch
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.events import schema_version

from impact_runtime.codec import Codec, VersionedCodec
from impact_runtime.envelope import envelope_headers, fill_envelope
from impact_runtime.structs import (
    Incoming,
    Outgoing,
    Output,
    ProducerRecord,
    RawMessage,
)

#: Encoding yields to the event loop after this many outputs, so a large fan-out (100,000
#: commands for one manifest) never starves the consumer's heartbeat or the health server.
ENCODE_YIELD_EVERY = 256


@lru_cache(maxsize=1024)
def event_name(topic: str) -> str:
    """The catalog event name a topic carries (ConfigError for unknown topics)."""
    spec = event_for_topic(topic)
    return spec if isinstance(spec, str) else str(spec.name)


@dataclass
class MessageSource:
    """The ``Source`` a ``Directive`` gets: the incoming record and its dead-lettering."""

    message: RawMessage | None
    reject: Callable[[RawMessage, BaseException], ProducerRecord] | None = None

    def dead_letter(self, reason: str) -> ProducerRecord:
        if self.message is None or self.reject is None:
            raise ContractViolation(f"nothing to dead-letter for a tick ({reason})")
        return self.reject(self.message, ContractViolation(reason))


def directive_records(outputs: Sequence[Output], source: MessageSource) -> list[ProducerRecord]:
    """The records of the outputs that are ``Directive``s, in order."""
    records: list[ProducerRecord] = []
    for output in outputs:
        if not isinstance(output, Outgoing):
            records.extend(output.records(source))
    return records


class Wire:
    """The codec and topic naming of one service."""

    def __init__(self, codec: Codec, topic_prefix: str) -> None:
        self.codec = codec
        self.topic_prefix = topic_prefix
        # A runtime_checkable Protocol check costs ~20 µs: once, not per produced event
        self._versioned: VersionedCodec | None = (
            codec if isinstance(codec, VersionedCodec) else None
        )

    def topic_for(self, event: str) -> str:
        """The topic an event is produced to."""
        return topic_for(event, self.topic_prefix)

    async def decode(self, message: RawMessage) -> Incoming:
        """Decode a raw message into an Incoming (errors propagate)."""
        if message.value is None:
            raise SchemaMismatch("tombstone (null value) on an event topic")
        value = await self.codec.decode(message.value, message.topic)
        return as_incoming(message, value)

    async def encode(
        self, outputs: Sequence[Output], cause: Incoming | None
    ) -> list[ProducerRecord]:
        """Encode the ``Outgoing`` events of handler or tick outputs into producer records
        (yielding to the loop every ``ENCODE_YIELD_EVERY``); check that the others are
        ``Directive``s."""
        records = []
        for n, output in enumerate(outputs, 1):
            if n % ENCODE_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if isinstance(output, Outgoing):
                records.append(await self._encode_event(output, cause))
            elif not callable(getattr(output, "records", None)):
                name = type(output).__name__
                raise TypeError(f"handler returned {name}, not an Outgoing or a Directive")
        return records

    async def _encode_event(self, output: Outgoing, cause: Incoming | None) -> ProducerRecord:
        versioned = self._versioned
        version = (
            versioned.schema_version(output.event)
            if versioned is not None
            else schema_version(output.event)
        )
        value = fill_envelope(output, cause, version)
        topic = self.topic_for(output.event)
        data = await self.codec.encode(output.event, value, topic)
        return ProducerRecord(topic, output.key.encode(), data, envelope_headers(value))


def as_incoming(message: RawMessage, value: dict[str, Any]) -> Incoming:
    """``message`` with its decoded ``value``, as a handler receives it."""
    return Incoming(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key.decode("utf-8", "replace") if message.key is not None else None,
        event=event_name(message.topic),
        value=value,
        headers={k: v.decode("utf-8", "replace") for k, v in message.headers},
    )

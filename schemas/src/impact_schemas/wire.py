"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro payload."""

from __future__ import annotations

import struct

from impact_contracts import SchemaMismatch

MAGIC_BYTE = 0
_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size


def header(schema_id: int) -> bytes:
    """The 5-byte wire header for ``schema_id``."""
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def pack(schema_id: int, payload: bytes) -> bytes:
    """Prefix an Avro payload with the wire header for ``schema_id``."""
    return header(schema_id) + payload


def schema_id(data: bytes) -> int:
    """The schema id in the header of ``data``; its payload starts at ``HEADER_SIZE``.

    Raises:
        SchemaMismatch: when the data is shorter than the header or the magic byte is not 0.
    """
    if len(data) < HEADER_SIZE:
        raise SchemaMismatch(
            f"not Confluent wire format: {len(data)} bytes, need at least {HEADER_SIZE}"
        )
    magic, found = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise SchemaMismatch(f"not Confluent wire format: magic byte {magic}, expected 0")
    return int(found)


def unpack(data: bytes) -> tuple[int, memoryview]:
    """Split wire bytes into ``(schema_id, payload)`` (errors as ``schema_id``)."""
    return schema_id(data), memoryview(data)[HEADER_SIZE:]

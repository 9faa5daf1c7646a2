"""The Confluent wire header."""

import pytest
from impact_contracts import SchemaMismatch
from impact_schemas import wire


def test_pack_writes_magic_byte_and_big_endian_id() -> None:
    assert wire.pack(258, b"\x02ab") == b"\x00\x00\x00\x01\x02\x02ab"


def test_unpack_returns_id_and_payload() -> None:
    schema_id, payload = wire.unpack(b"\x00\x7f\xff\xff\xff" + b"xyz")
    assert schema_id == 2**31 - 1
    assert bytes(payload) == b"xyz"


def test_round_trip_with_empty_payload() -> None:
    schema_id, payload = wire.unpack(wire.pack(7, b""))
    assert (schema_id, bytes(payload)) == (7, b"")


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_short_data_is_a_schema_mismatch(data: bytes) -> None:
    with pytest.raises(SchemaMismatch, match=f"{len(data)} bytes, need at least 5"):
        wire.unpack(data)


@pytest.mark.parametrize("magic", [1, 0x7B, 0xFF])
def test_wrong_magic_byte_is_a_schema_mismatch(magic: int) -> None:
    with pytest.raises(SchemaMismatch, match=f"magic byte {magic}, expected 0"):
        wire.unpack(bytes([magic]) + b"\x00\x00\x00\x01payload")

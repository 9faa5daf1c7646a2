"""The codec benchmark's ratios are the encode + decode sums the table claims."""

from __future__ import annotations

import pytest

from bench.codec_bench import ratios


def test_ratios_compare_encode_plus_decode_sums() -> None:
    row = {
        "fastavro_encode_us": 10.0,
        "fastavro_decode_us": 10.0,
        "codec_encode_us": 14.0,
        "codec_decode_us": 16.0,
        "checked_decode_us": 26.0,
        "json_encode_us": 12.0,
        "json_decode_us": 3.0,
    }
    assert ratios(row) == {
        "codec_over_fastavro": pytest.approx(1.5),
        "checked_over_fastavro": pytest.approx(2.0),
        "codec_over_json": pytest.approx(2.0),
        "fastavro_over_json": pytest.approx(20 / 15),
    }

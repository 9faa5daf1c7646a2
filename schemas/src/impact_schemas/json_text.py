"""JSON text of the free-form fields (decision 0002), written and read by orjson where it
gives what ``json`` gives (decision 0073), else by ``json``."""

from __future__ import annotations

import json
from typing import Any

import orjson

_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
#: orjson writes what ``_JSON`` accepts, or raises on what it cannot write as ``_JSON``
#: would (non-str keys, ints beyond 64 bits, dates, dataclasses, subclasses: ``_JSON``
#: then decides); it writes NaN as null, so output with a null is left to ``_JSON`` too.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(value: dict[str, Any]) -> str:
    """Compact JSON with sorted keys: what ``_JSON`` accepts and writes, by orjson.

    The text can differ from ``_JSON``'s in form only (non-ASCII characters as UTF-8, not
    ``\\u`` escapes; ``0.00001`` for ``1e-05``): the same value when read back (decision
    0073).
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return _JSON.encode(value)
    if b"null" in text:  # None, or a NaN/infinity that _JSON refuses
        return _JSON.encode(value)
    return text.decode()


#: bytes.translate table: ASCII digits to ``0``, every other byte to a space
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float
_LONG_DIGITS = b"0" * 19


def json_loads(text: Any) -> Any:
    """``json.loads(text)`` (text or UTF-8 bytes), by orjson where it reads the same value
    (decision 0073).

    orjson reads an integer beyond 64 bits as a float, and refuses what ``json`` accepts
    (``NaN``, lone surrogates): text with a run of 19 digits, or that orjson refuses, is
    read by ``json``, so every text reads as ``json.loads`` reads it.
    """
    if text == "{}":
        return {}
    if isinstance(text, str | bytes):
        try:
            raw = text.encode() if isinstance(text, str) else text
            if _LONG_DIGITS not in raw.translate(_DIGITS_ONLY):
                return orjson.loads(raw)
        except (UnicodeEncodeError, orjson.JSONDecodeError):
            pass
    return json.loads(text)  # as json.loads reads it, errors included

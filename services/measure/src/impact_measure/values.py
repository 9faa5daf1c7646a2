"""Matching values written in a config to values stored in data, by value not by type.

A config says ``treated_unit: "17"`` or ``exclude: [0]``; a CSV may hold ``17``, ``17.0`` or
``"17"``. Numbers (and text that reads as a number) compare by their numeric value; other
text compares exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Number
from typing import Any

import numpy as np
import pandas as pd


def value_key(value: Any) -> Any:
    """What ``value`` is compared by: a float for numbers and numeric text, else itself."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | Number):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def matches(values: pd.Series, wanted: Iterable[Any]) -> np.ndarray:
    """True where ``values`` equals one of ``wanted`` by value (missing values never match)."""
    keys = {value_key(v) for v in wanted}
    found = {v for v in pd.unique(values.dropna()) if value_key(v) in keys}
    return values.isin(found).to_numpy()


def find_value(values: pd.Series, wanted: Any) -> Any | None:
    """The stored value equal to ``wanted`` by value (as a Python scalar), or ``None``."""
    key = value_key(wanted)
    for value in pd.unique(values.dropna()):
        if value_key(value) == key:
            return value.item() if isinstance(value, np.generic) else value
    return None


def examples(values: pd.Series, limit: int = 5) -> str:
    """Up to ``limit`` distinct values of ``values`` for a message: ``'a', 'b', ... (7 in all)``."""
    distinct = list(pd.unique(values.dropna()))
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in distinct[:limit])
    return shown + (f", ... ({len(distinct)} in all)" if len(distinct) > limit else "")


def short_reason(exc: BaseException) -> str:
    """The first line of a library's error message, without pandas' "You might want to try"."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(". You might want to try")[0].rstrip(":. ")

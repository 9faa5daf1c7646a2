"""Data sources: each turns its ``DATA.SOURCE.CONFIG`` into a pandas DataFrame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol

import pandas as pd

from impact_measure.registry import AdapterRegistry


@dataclass(frozen=True)
class LoadRequest:
    """What a source needs besides its own CONFIG."""

    phase: Literal["pilot", "scale"] = "pilot"
    sample_size: int | None = None
    seed: int | None = None
    data_root: Path | None = None


class Source(Protocol):
    """Loads the analysis data for one measurement.

    ``draws_scale_sample``: the source draws its own (larger, different) sample for the
    scale phase from ``LoadRequest.sample_size``; if not, ``SCALE`` must name other data.
    """

    draws_scale_sample: ClassVar[bool]

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame: ...


SOURCES: AdapterRegistry[type[Source]] = AdapterRegistry("source type", "DATA.SOURCE.type")
register_source = SOURCES.register

__all__ = ["SOURCES", "LoadRequest", "Source", "register_source"]

"""Data sources: each turns its ``DATA.SOURCE.CONFIG`` into a pandas DataFrame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol

import pandas as pd
from impact_contracts import Catalog

from impact_measure.catalog import plugin_entry_points


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


SOURCES: Catalog[type[Source]] = Catalog("source type", "DATA.SOURCE.type")
register_source = SOURCES.register
#: Entry-point group of plugin packages' sources: ``name = "module:SourceClass"``.
ENTRY_POINT_GROUP = "impact_engine.sources"


def load_source_plugins() -> list[str]:
    """Register the sources of installed plugin packages (entry points of
    ``impact_engine.sources``); their names. A class that did not register itself is
    registered under its entry point's name.

    Raises:
        ConfigError: a plugin cannot be imported (the message names it).
    """
    names = []
    for entry, source in plugin_entry_points(ENTRY_POINT_GROUP):
        if entry.name not in SOURCES.names():
            register_source(entry.name)(source)
        names.append(entry.name)
    return names


__all__ = [
    "ENTRY_POINT_GROUP",
    "SOURCES",
    "LoadRequest",
    "Source",
    "load_source_plugins",
    "register_source",
]

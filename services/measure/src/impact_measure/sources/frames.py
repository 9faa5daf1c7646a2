"""Source ``dataframe``: a pandas DataFrame held by this process (notebooks, scripts).

``put_frame(frame)`` keeps the frame under its content hash and returns that name;
``CONFIG: {name: <hash>}`` reads it back. Only components running in the same process see
it (embedded mode with threads); for Kafka, ``impact_orchestrator.api.stage`` writes the
frames as Parquet where the services read them and rewrites the sources.
"""

from __future__ import annotations

import hashlib
import threading
from typing import ClassVar

import pandas as pd
from impact_contracts import ConfigError

from impact_measure.config import Section, validate_section
from impact_measure.sources import LoadRequest, register_source

CONFIG_PATH = "DATA.SOURCE.CONFIG"
_FRAMES: dict[str, pd.DataFrame] = {}
_LOCK = threading.Lock()


class FrameConfig(Section):
    """``DATA.SOURCE.CONFIG`` of the dataframe source: the name ``put_frame`` returned."""

    name: str


def put_frame(frame: pd.DataFrame) -> str:
    """Keep ``frame`` for the dataframe source; its name (a content hash: equal frames
    share a name, so the result cache sees equal data)."""
    digest = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    columns = "|".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items())
    name = "df-" + hashlib.sha256(digest + columns.encode()).hexdigest()[:16]
    with _LOCK:
        _FRAMES[name] = frame
    return name


def get_frame(name: str) -> pd.DataFrame | None:
    """The frame ``put_frame`` kept as ``name`` (not a copy), or ``None``."""
    with _LOCK:
        return _FRAMES.get(name)


@register_source("dataframe")
class DataFrameSource:
    """Reads the frame ``put_frame`` stored as ``CONFIG.name`` (a copy: transforms cannot
    change the caller's frame). The scale phase reads the frame named in ``SCALE``."""

    draws_scale_sample: ClassVar[bool] = False
    Config: ClassVar[type[Section]] = FrameConfig

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        cfg = validate_section(FrameConfig, config, CONFIG_PATH)
        with _LOCK:
            frame = _FRAMES.get(cfg.name)
        if frame is None:
            raise ConfigError(
                f"{CONFIG_PATH}.name: no DataFrame {cfg.name!r} in this process (dataframe "
                "sources are read in embedded mode only; for Kafka, api.stage the manifest)"
            )
        return frame.copy()

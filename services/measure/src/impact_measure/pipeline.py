"""Load → Transform → Measure: one measurement from a parsed config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from impact_contracts import ComponentError, ConfigError

# Importing the adapter modules registers them.
from impact_measure.config import MeasureConfig, parse_config, validate_section
from impact_measure.models import MODELS, Estimate
from impact_measure.models.base import require_varying_outcome
from impact_measure.sources import SOURCES, LoadRequest
from impact_measure.sources import files as _files  # noqa: F401
from impact_measure.sources import simulator as _simulator  # noqa: F401
from impact_measure.transforms import apply_transform


@dataclass(frozen=True)
class Measurement:
    """An estimate plus what was loaded to get it."""

    estimate: Estimate
    n_rows_loaded: int
    columns: list[str]


def require_scale_data(raw: dict[str, Any], scale_config: MeasureConfig) -> None:
    """Scale must not re-measure the pilot data: sources that cannot draw a scale sample
    themselves (files) need a ``SCALE`` section that changes ``DATA.SOURCE``."""
    source = scale_config.DATA.SOURCE
    if SOURCES.get(source.type).draws_scale_sample:
        return
    if source == parse_config(raw, "pilot").DATA.SOURCE:
        raise ConfigError(
            f"SCALE: phase 'scale' with a {source.type!r} source needs a SCALE section naming "
            "the scale data, e.g. SCALE: {DATA: {SOURCE: {CONFIG: {path: scale.csv}}}}; "
            f"{source.type!r} sources do not use sample_size, so without it scale would "
            "re-measure the pilot data"
        )


def load(config: MeasureConfig, request: LoadRequest) -> pd.DataFrame:
    """Step 1 (+2): read the data from the source, then apply the optional transform."""
    source = SOURCES.get(config.DATA.SOURCE.type)()
    frame = source.load(config.DATA.SOURCE.CONFIG, request)
    if config.DATA.TRANSFORM is not None:
        frame = apply_transform(frame, config.DATA.TRANSFORM.FUNCTION, config.DATA.TRANSFORM.PARAMS)
    if frame.empty:
        raise ComponentError("the loaded data set is empty")
    return frame


def measure(config: MeasureConfig, request: LoadRequest, model_seed: int) -> Measurement:
    """Steps 1-3: load, transform and estimate with the configured model."""
    model_class = MODELS.get(config.MEASUREMENT.MODEL)
    params = validate_section(model_class.Params, config.MEASUREMENT.PARAMS, "MEASUREMENT.PARAMS")
    frame = load(config, request)
    require_varying_outcome(frame, params)
    estimate = model_class().estimate(frame, params, model_seed)
    return Measurement(estimate, len(frame), [str(c) for c in frame.columns])

"""Load → Transform → Measure: one measurement from a parsed config.

Errors raised while measuring a file's data name the file first
(``data/x.csv: MEASUREMENT.PARAMS...``), and every warning raised on the way (pandas,
statsmodels, numpy) lands in ``diagnostics.warnings`` instead of on stderr.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from impact_contracts import ComponentError, ConfigError

# Importing the adapter modules registers them.
from impact_measure.config import MeasureConfig, parse_config, validate_section
from impact_measure.inputs import prepare
from impact_measure.models import MODELS, Estimate, load_model_plugins
from impact_measure.models.columns import (
    binary_column,
    handle_missing,
    numeric_column,
    read_columns,
    require_column,
    require_varying_outcome,
)
from impact_measure.sources import SOURCES, LoadRequest, load_source_plugins
from impact_measure.sources import files as _files  # noqa: F401
from impact_measure.sources import frames as _frames  # noqa: F401
from impact_measure.sources import s3 as _s3  # noqa: F401
from impact_measure.sources import simulator as _simulator  # noqa: F401
from impact_measure.sources import sql as _sql  # noqa: F401
from impact_measure.transforms import apply_transforms

load_source_plugins()
load_model_plugins()

#: ``warnings.catch_warnings`` changes process-wide state: one recording at a time.
_RECORDING = threading.Lock()


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
    listed = isinstance(config.DATA.TRANSFORM, list)
    frame = apply_transforms(frame, config.DATA.transform_steps(), listed)
    if frame.empty:
        raise ComponentError("the loaded data set is empty")
    return frame


def data_label(config: MeasureConfig) -> str | None:
    """How errors name the data: the source's ``CONFIG.path`` or ``url``, or ``sql:table``."""
    source = config.DATA.SOURCE.CONFIG
    for key in ("path", "url"):
        if isinstance(source.get(key), str):
            return str(source[key])
    if config.DATA.SOURCE.type == "sql":
        return f"sql:{source['table']}" if isinstance(source.get("table"), str) else "sql:query"
    return None


@contextmanager
def naming_data(label: str | None) -> Iterator[None]:
    """Re-raise config and data errors with ``label`` (the data file) in front."""
    try:
        yield
    except (ConfigError, ComponentError) as exc:
        if label is None or label in str(exc):
            raise
        raise type(exc)(f"{label}: {exc}") from exc


@contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect every warning raised inside as ``"Category: message"`` (none reach stderr)."""
    found: list[str] = []
    with _RECORDING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield found
        finally:
            lines = (f"{w.category.__name__}: {w.message}" for w in caught)
            found.extend(dict.fromkeys(lines))


def with_warnings(estimate: Estimate, found: list[str]) -> Estimate:
    """``estimate`` with ``found`` appended to ``diagnostics.warnings`` (a list of strings)."""
    if not found:
        return estimate
    own = estimate.diagnostics.get("warnings") or []
    merged = [*(own if isinstance(own, list) else [own]), *found]
    diagnostics = {**estimate.diagnostics, "warnings": list(dict.fromkeys(map(str, merged)))}
    return dataclasses.replace(estimate, diagnostics=diagnostics)


def measure(config: MeasureConfig, request: LoadRequest, model_seed: int) -> Measurement:
    """Steps 1-3: load, transform, read treatment/time/unit values, and estimate."""
    model_class = MODELS.get(config.MEASUREMENT.MODEL)
    params = validate_section(model_class.Params, config.MEASUREMENT.PARAMS, "MEASUREMENT.PARAMS")
    with naming_data(data_label(config)), recorded_warnings() as found:
        frame = load(config, request)
        frame, params = prepare(frame, params)
        require_varying_outcome(frame, params)
        estimate = model_class().estimate(frame, params, model_seed)
    return Measurement(with_warnings(estimate, found), len(frame), [str(c) for c in frame.columns])


def check(config: MeasureConfig, request: LoadRequest) -> int:
    """Steps 1-2 and the column checks of step 3 without estimating: load, transform, read
    treatment/time/unit values, then every column the model reads must exist, the outcome
    be numeric and vary, the treatment be 0/1. Returns the rows loaded.

    Raises:
        ConfigError, ComponentError: as :func:`measure` would for these problems.
        DependencyUnavailable: the source is down.
    """
    model_class = MODELS.get(config.MEASUREMENT.MODEL)
    params = validate_section(model_class.Params, config.MEASUREMENT.PARAMS, "MEASUREMENT.PARAMS")
    with naming_data(data_label(config)), recorded_warnings():
        frame = load(config, request)
        frame, params = prepare(frame, params)
        for name, value in params:
            if name.endswith("_column") and isinstance(value, str):
                require_column(frame, value, name)
            elif name.endswith("_columns") and isinstance(value, list):
                for column in value:
                    require_column(frame, column, name)
        kept, _ = handle_missing(frame, params) if read_columns(params) else (frame, None)
        outcome, treatment = (
            getattr(params, f"{n}_column", None) for n in ("outcome", "treatment")
        )
        if isinstance(outcome, str):
            numeric_column(kept, outcome, "outcome_column")
        if isinstance(treatment, str):
            binary_column(kept, treatment, "treatment_column")
        require_varying_outcome(kept, params)
    return len(frame)

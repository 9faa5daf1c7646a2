"""The Python API for notebooks and scripts: measure a DataFrame in one call, build a
portfolio from a list of dicts or a DataFrame, run it embedded, get DataFrames back.

    from impact_orchestrator import api
    result = api.measure(frame, "experiment", outcome_column="y", treatment_column="t")
    run = api.run(api.portfolio(initiatives, budget=100))
    api.reports(run)

A portfolio is an ordinary manifest mapping: ``run_embedded`` runs it as is, and with
its data in ``s3``/``sql`` sources the same mapping, saved as YAML, runs on Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from impact_orchestrator.embedded import run_embedded


def frame_source(frame: pd.DataFrame) -> dict[str, Any]:
    """A ``DATA.SOURCE`` reading ``frame`` (the ``dataframe`` source, this process only)."""
    from impact_measure.sources.frames import put_frame

    return {"type": "dataframe", "CONFIG": {"name": put_frame(frame)}}


def measure_config(
    data: pd.DataFrame | Mapping[str, Any],
    model: str,
    scale_data: pd.DataFrame | Mapping[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """A measure config: ``data`` (a DataFrame or a ``DATA.SOURCE`` mapping), ``model``
    and its PARAMS; ``scale_data`` names the scale phase's data."""

    def source(value: pd.DataFrame | Mapping[str, Any]) -> dict[str, Any]:
        return frame_source(value) if isinstance(value, pd.DataFrame) else dict(value)

    config: dict[str, Any] = {
        "DATA": {"SOURCE": source(data)},
        "MEASUREMENT": {"MODEL": model, "PARAMS": params},
    }
    if scale_data is not None:
        config["SCALE"] = {"DATA": {"SOURCE": source(scale_data)}}
    return config


def measure(frame: pd.DataFrame, model: str = "experiment", **params: Any) -> pd.Series:
    """Measure ``frame`` with ``model`` (PARAMS as keyword arguments): the result as a
    Series (``effect_estimate``, ``ci_lower``, ``ci_upper``, ``p_value``, ...).

    Raises:
        ConfigError: a bad parameter or column, with its key path.
        ComponentError: the data cannot support an estimate.
    """
    from impact_measure import Measure

    event = {"initiative_id": "frame", "measure_config": measure_config(frame, model, **params)}
    return pd.Series(Measure(cache=False).execute(event))


def portfolio(
    initiatives: Iterable[Mapping[str, Any]] | pd.DataFrame, *, budget: float, **run_level: Any
) -> dict[str, Any]:
    """A manifest mapping from rows of ``initiative_id``, ``cost_to_scale`` and either
    ``measure_config`` or ``data`` (a DataFrame or a ``DATA.SOURCE`` mapping) + ``model``
    (+ ``scale_data``) + any other keys as the model's PARAMS."""
    rows = initiatives.to_dict("records") if isinstance(initiatives, pd.DataFrame) else initiatives
    entries = []
    for row in rows:
        fields = dict(row)
        entry = {
            "initiative_id": fields.pop("initiative_id"),
            "cost_to_scale": fields.pop("cost_to_scale"),
        }
        if "measure_config" in fields:
            entry["measure_config"] = fields.pop("measure_config")
        else:
            data, model = fields.pop("data"), fields.pop("model", "experiment")
            entry["measure_config"] = measure_config(data, model, **fields)
        entries.append(entry)
    return {"budget": budget, **run_level, "INITIATIVES": entries}


def run(manifest: Any, **options: Any) -> dict[str, Any]:
    """``run_embedded``: a manifest path, mapping or ``Manifest``; a progress bar on a
    terminal or in a notebook. The ``run_completed`` payload."""
    return run_embedded(manifest, **options)


def reports(result: Mapping[str, Any]) -> pd.DataFrame:
    """The outcome report, one row per selected initiative."""
    return pd.DataFrame(result.get("reports", []))


def pilots(result: Mapping[str, Any]) -> pd.DataFrame:
    """Every pilot estimate, selected or not."""
    return pd.DataFrame(result.get("pilots", []))


def failures(result: Mapping[str, Any]) -> pd.DataFrame:
    """The initiatives that failed, with stage and reason."""
    return pd.DataFrame(result.get("failures", []))

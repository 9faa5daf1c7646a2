"""Optional ``DATA.TRANSFORM`` step: named functions ``(frame, params) -> frame``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
from impact_contracts import ConfigError

from impact_measure.config import Section, validate_section
from impact_measure.registry import AdapterRegistry

Transform = Callable[[pd.DataFrame, dict[str, Any]], pd.DataFrame]
TRANSFORMS: AdapterRegistry[Transform] = AdapterRegistry("transform", "DATA.TRANSFORM.FUNCTION")
register_transform = TRANSFORMS.register
PARAMS_PATH = "DATA.TRANSFORM.PARAMS"


def require_columns(frame: pd.DataFrame, columns: list[str], key: str) -> None:
    """Raise ``ConfigError`` at ``key`` if any of ``columns`` is missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{key}: column {missing[0]!r} not in data (columns: {', '.join(map(str, frame))})"
        )


class AggregateParams(Section):
    by: list[str]
    columns: dict[str, Literal["sum", "mean", "min", "max", "first"]]


@register_transform("aggregate")
def aggregate(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Group by ``by`` and reduce each of ``columns`` (``{column: sum|mean|...}``)."""
    spec = validate_section(AggregateParams, params, PARAMS_PATH)
    require_columns(frame, spec.by, f"{PARAMS_PATH}.by")
    require_columns(frame, list(spec.columns), f"{PARAMS_PATH}.columns")
    return frame.groupby(spec.by, as_index=False).agg(spec.columns)


class FilterParams(Section):
    column: str
    values: list[Any] | None = None
    min: float | None = None
    max: float | None = None


@register_transform("filter_rows")
def filter_rows(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Keep rows whose ``column`` is in ``values`` and/or within ``[min, max]``."""
    spec = validate_section(FilterParams, params, PARAMS_PATH)
    require_columns(frame, [spec.column], f"{PARAMS_PATH}.column")
    keep = pd.Series(True, index=frame.index)
    if spec.values is not None:
        keep &= frame[spec.column].isin(spec.values)
    if spec.min is not None:
        keep &= frame[spec.column] >= spec.min
    if spec.max is not None:
        keep &= frame[spec.column] <= spec.max
    return frame.loc[keep].reset_index(drop=True)


class RenameParams(Section):
    columns: dict[str, str]


@register_transform("rename_columns")
def rename_columns(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Rename columns ``{old: new}`` so a warehouse table matches the PARAMS names."""
    spec = validate_section(RenameParams, params, PARAMS_PATH)
    require_columns(frame, list(spec.columns), f"{PARAMS_PATH}.columns")
    return frame.rename(columns=spec.columns)


def apply_transform(frame: pd.DataFrame, function: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run the registered transform ``function``."""
    if not TRANSFORMS.names():
        raise ConfigError("DATA.TRANSFORM.FUNCTION: no transforms registered")
    return TRANSFORMS.get(function)(frame, params)

"""Optional ``DATA.TRANSFORM`` steps: named functions ``(frame, params) -> frame``.

``DATA.TRANSFORM`` is one step (``{FUNCTION, PARAMS}``) or a list of them, applied in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
from impact_contracts import Catalog, ConfigError
from pydantic import Field

from impact_measure.config import Section, TransformSpec, validate_section
from impact_measure.values import matches

Transform = Callable[[pd.DataFrame, dict[str, Any]], pd.DataFrame]
TRANSFORMS: Catalog[Transform] = Catalog("transform", "DATA.TRANSFORM.FUNCTION")
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
    exclude: list[Any] | None = None
    min: float | None = None
    max: float | None = None


@register_transform("filter_rows")
def filter_rows(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Keep rows whose ``column`` is in ``values``, not in ``exclude`` and within
    ``[min, max]``; values match by value (``"17"`` matches 17 and 17.0)."""
    spec = validate_section(FilterParams, params, PARAMS_PATH)
    require_columns(frame, [spec.column], f"{PARAMS_PATH}.column")
    keep = pd.Series(True, index=frame.index)
    if spec.values is not None:
        keep &= matches(frame[spec.column], spec.values)
    if spec.exclude is not None:
        keep &= ~matches(frame[spec.column], spec.exclude)
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


class WideToLongParams(Section):
    id_columns: list[str] = Field(min_length=1)
    unit_column: str = "unit"
    value_column: str = "value"
    unit_columns: list[str] | None = None


@register_transform("wide_to_long")
def wide_to_long(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """A wide panel (one column per unit) as long rows ``id_columns, unit_column,
    value_column`` (``pandas.melt``); ``unit_columns`` (default: all others) are the units."""
    spec = validate_section(WideToLongParams, params, PARAMS_PATH)
    require_columns(frame, spec.id_columns, f"{PARAMS_PATH}.id_columns")
    if spec.unit_columns is not None:
        require_columns(frame, spec.unit_columns, f"{PARAMS_PATH}.unit_columns")
    taken = {spec.unit_column, spec.value_column} & set(spec.id_columns)
    taken |= {spec.value_column} & set(map(str, frame.columns))
    if taken:
        raise ConfigError(
            f"{PARAMS_PATH}: column {sorted(taken)[0]!r} is already in the data; name the new "
            "columns with unit_column and value_column"
        )
    return frame.melt(
        id_vars=spec.id_columns,
        value_vars=spec.unit_columns,
        var_name=spec.unit_column,
        value_name=spec.value_column,
    )


#: PARAMS of the built-in transforms (the manifest loader checks them at publish).
PARAMS_MODELS: dict[str, type[Section]] = {
    "aggregate": AggregateParams,
    "filter_rows": FilterParams,
    "rename_columns": RenameParams,
    "wide_to_long": WideToLongParams,
}


def step_path(index: int | None) -> str:
    """``DATA.TRANSFORM`` or ``DATA.TRANSFORM[i]`` for a step of a list."""
    return "DATA.TRANSFORM" if index is None else f"DATA.TRANSFORM[{index}]"


def apply_transform(frame: pd.DataFrame, function: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run the registered transform ``function``."""
    if not TRANSFORMS.names():
        raise ConfigError("DATA.TRANSFORM.FUNCTION: no transforms registered")
    return TRANSFORMS.get(function)(frame, params)


def apply_transforms(frame: pd.DataFrame, steps: list[TransformSpec], listed: bool) -> pd.DataFrame:
    """Run ``steps`` in order; a step of a list (``listed``) is named ``DATA.TRANSFORM[i]``."""
    for index, step in enumerate(steps):
        try:
            frame = apply_transform(frame, step.FUNCTION, step.PARAMS)
        except ConfigError as exc:
            message = str(exc)
            if listed and message.startswith("DATA.TRANSFORM."):
                message = step_path(index) + message.removeprefix("DATA.TRANSFORM")
                raise ConfigError(message) from exc
            raise
    return frame

"""What every model shares: the result record, the registry and column checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import pandas as pd
from impact_contracts import MODEL_TYPES, ComponentError, ConfigError
from pydantic import Field

from impact_measure.config import InputParams
from impact_measure.registry import AdapterRegistry, plugin_entry_points
from impact_measure.values import examples

PARAMS_PATH = "MEASUREMENT.PARAMS"
MIN_SAMPLE_SIZE = 30
#: A text covariate with more levels is refused (each level is a dummy column).
MAX_CATEGORY_LEVELS = 100


class ModelParams(InputParams):
    """PARAMS every model accepts (``treatment_values``/``time_type``: ``InputParams``)."""

    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    missing: Literal["error", "drop_rows"] = "error"


@dataclass(frozen=True)
class Estimate:
    """A model's answer.

    ``sample_size`` = the number of unit-level observations the estimate rests on: rows of
    the data as supplied (a product in a cross-section, a product-day in a panel), where a
    pre-aggregated row counts as the observations behind it (``count_column``).
    """

    effect: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    sample_size: int
    n_treated: int | None = None
    n_control: int | None = None
    n_pre: int | None = None
    n_post: int | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)


class Model(Protocol):
    """A causal model: validated PARAMS in, ``Estimate`` out."""

    Params: ClassVar[type[ModelParams]]

    def estimate(self, frame: pd.DataFrame, params: Any, seed: int) -> Estimate: ...


MODELS: AdapterRegistry[type[Model]] = AdapterRegistry("model", "MEASUREMENT.MODEL")
#: Model name → its design family (one of ``impact_contracts.MODEL_TYPES``): what a
#: measure result's ``model_type`` says, so evaluate scores and pools it with that family.
DESIGNS: dict[str, str] = {}
#: Entry-point group of plugin packages' models: ``name = "module:ModelClass"``.
ENTRY_POINT_GROUP = "impact_engine.models"


def register_model(name: str, design: str | None = None) -> Callable[[type[Model]], type[Model]]:
    """Decorator: ``@register_model("name", design="experiment")``.

    ``design``: the design family the model belongs to (one of the six built-in model
    types); it defaults to ``name``, so only the built-ins may leave it out.

    Raises:
        ConfigError: ``design`` is not a design family, or the name is taken.
    """
    family = name if design is None else design
    if family not in MODEL_TYPES:
        raise ConfigError(
            f"model {name!r}: design must be one of {', '.join(MODEL_TYPES)}; got {family!r}"
        )
    register = MODELS.register(name)

    def decorate(model: type[Model]) -> type[Model]:
        registered = register(model)
        DESIGNS[name] = family
        return registered

    return decorate


def design_of(name: str) -> str:
    """The design family of model ``name`` (its ``model_type`` on the wire)."""
    MODELS.get(name)  # unknown names: ConfigError at MEASUREMENT.MODEL
    return DESIGNS[name]


def load_model_plugins() -> list[str]:
    """Register the models of installed plugin packages (entry points of
    ``impact_engine.models``); their names. A class that did not register itself is
    registered under its entry point's name with its ``design`` class attribute.

    Raises:
        ConfigError: a plugin cannot be imported or names no design family.
    """
    names = []
    for entry, model in plugin_entry_points(ENTRY_POINT_GROUP):
        if entry.name not in MODELS.names():
            design = getattr(model, "design", None)
            if not isinstance(design, str):
                raise ConfigError(
                    f"{ENTRY_POINT_GROUP}: {entry.name} = {entry.value}: set a class attribute "
                    f"design (one of {', '.join(MODEL_TYPES)}) or call register_model"
                )
            register_model(entry.name, design=design)(model)
        names.append(entry.name)
    return names


def read_columns(params: Any) -> list[str]:
    """The data columns ``params`` names: every ``*_column`` and ``*_columns`` field."""
    names: list[str] = []
    for field_name in type(params).model_fields:
        value = getattr(params, field_name)
        if field_name.endswith("_column") and isinstance(value, str):
            names.append(value)
        elif field_name.endswith("_columns") and isinstance(value, list):
            names.extend(value)
    return list(dict.fromkeys(names))


def missing_mask(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """True where a cell of ``columns`` (those present) is missing, or infinite if numeric."""
    mask = {}
    for name in (c for c in columns if c in frame.columns):
        series = frame[name]
        bad = series.isna()
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            bad |= ~np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
        mask[name] = bad.to_numpy()
    return pd.DataFrame(mask, index=frame.index)


def handle_missing(
    frame: pd.DataFrame, params: Any, unit_column: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply ``params.missing`` to the columns the model reads.

    ``error``: raise with the row count per column; ``drop_rows``: drop incomplete rows;
    ``drop_units`` (panels, ``unit_column``): drop every unit with an incomplete row.
    Returns the kept rows and a ``diagnostics.missing`` record.
    """
    policy = params.missing
    mask = missing_mask(frame, read_columns(params))
    bad_rows = mask.any(axis=1).to_numpy()
    if not bad_rows.any():
        return frame, {"policy": policy, "rows_dropped": 0}
    by_column = {name: int(n) for name, n in mask.sum().items() if n}
    if policy == "error":
        counts = ", ".join(f"{name}: {n}" for name, n in by_column.items())
        options = "drop_rows or drop_units" if unit_column else "drop_rows"
        raise ConfigError(
            f"{PARAMS_PATH}.missing: {int(bad_rows.sum())} of {len(frame)} rows have missing or "
            f"infinite values ({counts}); fix the data or set {PARAMS_PATH}.missing: {options}"
        )
    record: dict[str, Any] = {"policy": policy, "missing_by_column": by_column}
    keep = ~bad_rows
    if policy == "drop_units" and unit_column is not None:
        units = frame[unit_column]
        dropped = units[bad_rows].dropna().unique()
        keep = ~units.isin(dropped).to_numpy() & units.notna().to_numpy()
        record["units_dropped"] = sorted(str(u) for u in dropped)
    record["rows_dropped"] = int((~keep).sum())
    return frame.loc[keep], record


def require_column(frame: pd.DataFrame, name: str, param: str) -> pd.Series:
    """``frame[name]``, or ``ConfigError`` naming ``MEASUREMENT.PARAMS.<param>``."""
    if name not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        hint = ""
        if param == "unit_column":
            hint = (
                "; if the data are a wide panel (one column per unit), add DATA.TRANSFORM "
                "{FUNCTION: wide_to_long, PARAMS: {id_columns: [<time column>], "
                f"unit_column: {name}, value_column: <outcome>}}}}"
            )
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} not in data (columns: {columns}){hint}"
        )
    return frame[name]


def numeric_column(frame: pd.DataFrame, name: str, param: str) -> np.ndarray:
    """A float array of column ``name``; non-numeric data or missing values are errors."""
    series = require_column(frame, name, param)
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric, got {series.dtype} "
            f"({examples(series, 3)}){_decimal_comma_hint(series)}"
        )
    values = series.to_numpy(dtype=float)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} has {bad} missing/infinite values "
            f"in {len(values)} rows"
        )
    return values


def require_varying_outcome(frame: pd.DataFrame, params: Any) -> None:
    """A model's ``outcome_column`` must vary: a constant one carries no information, and
    estimators would return an effect with a CI of rounding noise (±1e-11).

    Raises:
        ComponentError: naming ``MEASUREMENT.PARAMS.outcome_column`` and the column.
    """
    name = getattr(params, "outcome_column", None)
    if name is None:
        return
    series = require_column(frame, name, "outcome_column")
    if not pd.api.types.is_numeric_dtype(series):
        numeric_column(frame, name, "outcome_column")  # raises: must be numeric
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if len(values) and np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        raise ComponentError(
            f"{PARAMS_PATH}.outcome_column: column {name!r} is constant (every row is "
            f"{values[0]:g}): nothing to estimate an effect from"
        )


def _decimal_comma_hint(series: pd.Series) -> str:
    """A hint when text such as ``'1,5'`` would be numbers with a decimal comma."""
    text = series.dropna().astype(str).head(100)
    as_numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    if len(text) and text.str.contains(",", regex=False).any() and as_numbers.notna().all():
        return "; decimal commas? set DATA.SOURCE.CONFIG.csv: {decimal: ','}"
    return ""


TREATMENT_VALUES_HINT = (
    f"map its values with {PARAMS_PATH}.treatment_values: {{treated: [...], control: [...]}}"
)


def binary_column(frame: pd.DataFrame, name: str, param: str) -> np.ndarray:
    """A 0/1 integer array of column ``name`` (booleans accepted).

    Text or other codes (e.g. ``"treatment"``/``"control"``, 1/2) are refused with a hint to
    map them with ``treatment_values`` (applied before the model, ``impact_measure.inputs``).
    """
    series = require_column(frame, name, param)
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric 0/1, got {series.dtype} "
            f"({examples(series)}); {TREATMENT_VALUES_HINT}"
        )
    values = numeric_column(frame, name, param)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must contain only 0/1, got "
            f"{examples(pd.Series(values))}; {TREATMENT_VALUES_HINT}"
        )
    return values.astype(int)


def covariate_matrix(frame: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """An ``n x k`` float matrix of the covariates, and how each was coded.

    Numeric and boolean columns are used as they are. Text and categorical columns are
    dummy-coded (``pandas.get_dummies``) against a baseline level: the most frequent one,
    ties broken by sort order.
    """
    blocks, coding = [], {}
    for i, name in enumerate(names):
        param = f"covariate_columns[{i}]"
        series = require_column(frame, name, param)
        refuse_dates(series, name, param)
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            blocks.append(numeric_column(frame, name, param)[:, None])
            coding[name] = {"type": "numeric"}
        else:
            dummies, coding[name] = dummy_coded(series, name, param)
            blocks.append(dummies)
    matrix = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
    return matrix, coding


def refuse_dates(series: pd.Series, name: str, param: str) -> None:
    """A date is not a covariate: as text it would become one dummy per day.

    Raises:
        ConfigError: ``series`` holds datetimes, or text whose values all read as dates.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        kind = f"dates ({series.dtype})"
    elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return
    else:
        sample = pd.Series(pd.unique(series.dropna().astype(str)))[:50]
        if sample.empty or not sample.str.contains(r"\d", regex=True).all():
            return
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.isna().any():
            return
        kind = f"text dates (e.g. {sample.iloc[0]!r})"
    raise ConfigError(
        f"{PARAMS_PATH}.{param}: column {name!r} holds {kind}; a date is not a covariate "
        "(each day would become a dummy): use a number derived from it (a year, a day index) "
        "or leave it out"
    )


def dummy_coded(series: pd.Series, name: str, param: str) -> tuple[np.ndarray, dict[str, Any]]:
    """0/1 columns for every level but the baseline (the most frequent; ties: first sorted)."""
    labels = series.astype(str)
    counts = labels.value_counts()
    most_levels = min(len(series) // 2, MAX_CATEGORY_LEVELS)
    if len(counts) > most_levels:
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric or a category with at "
            f"most {most_levels} levels in {len(series)} rows; got {series.dtype} with "
            f"{len(counts)} distinct values (an identifier?)"
        )
    levels = sorted(counts.index)
    baseline = min(levels, key=lambda level: (-counts[level], level))
    ordered = pd.Categorical(labels, categories=[baseline, *(v for v in levels if v != baseline)])
    dummies = pd.get_dummies(ordered, prefix=name, prefix_sep="=", drop_first=True, dtype=float)
    coding = {
        "type": "categorical",
        "levels": levels,
        "baseline": baseline,
        "columns": [str(c) for c in dummies.columns],
    }
    return dummies.to_numpy(), coding


def observation_counts(frame: pd.DataFrame, count_column: str | None) -> np.ndarray:
    """Unit-level observations behind each row: 1 each, or the ``count_column`` values."""
    if count_column is None:
        return np.ones(len(frame))
    counts = numeric_column(frame, count_column, "count_column")
    if (counts <= 0).any():
        raise ConfigError(f"{PARAMS_PATH}.count_column: column {count_column!r} must be > 0")
    return counts


def require_sample_size(n: int, what: str) -> None:
    """Results need at least 30 analysis rows."""
    if n < MIN_SAMPLE_SIZE:
        raise ComponentError(
            f"too few {what} for a measurement: {n} < {MIN_SAMPLE_SIZE}; supply more data"
        )


def require_groups(n_treated: int, n_control: int, minimum: int = 2) -> None:
    """Both arms need at least ``minimum`` units."""
    if n_treated < minimum or n_control < minimum:
        raise ComponentError(
            f"need at least {minimum} treated and {minimum} control units "
            f"(got {n_treated} treated, {n_control} control)"
        )


#: Reported instead of a p-value that underflows to 0.0: a true upper bound, flagged.
P_VALUE_FLOOR = float(np.finfo(float).tiny)


def two_sided_p_value(statistic: float, dist: Any) -> tuple[float, dict[str, Any]]:
    """``2 * P(T >= |statistic|)`` for the frozen scipy distribution ``dist``, never 0.0.

    Where the tail probability underflows, the result is ``P_VALUE_FLOOR`` (the smallest
    normal float, an upper bound on the exact value) and the diagnostics say so.
    """
    p_value = min(1.0, 2.0 * float(dist.sf(abs(statistic))))
    if p_value > 0.0:
        return p_value, {"p_value_is_upper_bound": False}
    return P_VALUE_FLOOR, {
        "p_value_is_upper_bound": True,
        "p_value_note": f"the exact p-value is below {P_VALUE_FLOOR:.3g}, the smallest normal "
        "float; p_value is this upper bound",
    }


def plain(value: Any) -> Any:
    """JSON-ready copy of ``value``: numpy scalars/arrays → Python floats/ints/lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def finite_or_fail(model: str, *values: float) -> None:
    """Estimation produced NaN/inf: a ``ComponentError``, not a fake number."""
    if not all(math.isfinite(v) for v in values):
        raise ComponentError(f"{model}: estimation produced non-finite values {values}")

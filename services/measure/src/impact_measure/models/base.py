"""What every model shares: PARAMS, the result record, the catalog and result values.

The checks of the columns a model reads are in ``impact_measure.models.columns``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import pandas as pd
from impact_contracts import MODEL_TYPES, Catalog, ComponentError, ConfigError
from pydantic import Field

from impact_measure.catalog import plugin_entry_points
from impact_measure.config import InputParams

PARAMS_PATH = "MEASUREMENT.PARAMS"


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


MODELS: Catalog[type[Model]] = Catalog("model", "MEASUREMENT.MODEL")
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

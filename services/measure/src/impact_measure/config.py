"""The measure config (``DATA``/``MEASUREMENT``/``SCALE``): parsing, merging, validation.

Every problem becomes a ``ConfigError`` whose message starts with the key path,
e.g. ``MEASUREMENT.PARAMS.outcome_column: ...``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from impact_contracts import ConfigError
from impact_contracts.events import MAX_SAMPLE_SIZE, MAX_SEED
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

M = TypeVar("M", bound=BaseModel)

#: Documented input limits (docs/measure.md, "Limits"), shared with the manifest loader;
#: sample size and seed are the wire contract's own (impact_contracts.events).
MAX_SIMULATED_CELLS = 10_000_000  # product-days the simulator draws (n_products x days)
__all__ = ["MAX_SAMPLE_SIZE", "MAX_SEED", "MAX_SIMULATED_CELLS"]


class Section(BaseModel):
    """Base of every config section: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


#: validation context key: also check names against the catalogs (``check_layout``)
REGISTERED = "registered"


def registered(
    names: Callable[[], list[str]], unknown: Callable[[str, list[str]], str]
) -> AfterValidator:
    """A name checked against ``names()`` when validated with the ``REGISTERED`` context;
    ``unknown(value, names)`` is the error message."""

    def check(value: str, info: ValidationInfo) -> str:
        if info.context and info.context.get(REGISTERED):
            known = names()
            if value not in known:
                raise ValueError(unknown(value, known))
        return value

    return AfterValidator(check)


def _unknown_source(value: str, names: list[str]) -> str:
    return f"unknown source type {value!r}; must be one of {', '.join(map(repr, names))}"


def _unknown_model(value: str, names: list[str]) -> str:
    quoted = [repr(name) for name in names]
    return f"must be one of {', '.join(quoted[:-1])} or {quoted[-1]}"


class SourceSpec(Section):
    type: Annotated[str, registered(lambda: source_names(), _unknown_source)]
    CONFIG: dict[str, Any] = Field(default_factory=dict)


class TransformSpec(Section):
    FUNCTION: str
    PARAMS: dict[str, Any] = Field(default_factory=dict)


class DataSpec(Section):
    SOURCE: SourceSpec
    TRANSFORM: TransformSpec | list[TransformSpec] | None = None

    def transform_steps(self) -> list[TransformSpec]:
        """``TRANSFORM`` as a list of steps, applied in order (one mapping is one step)."""
        if self.TRANSFORM is None:
            return []
        return self.TRANSFORM if isinstance(self.TRANSFORM, list) else [self.TRANSFORM]


Scalar = str | int | float | bool


class TreatmentValues(Section):
    """``treatment_values``: which values of ``treatment_column`` mean treated and control."""

    treated: list[Scalar] = Field(min_length=1)
    control: list[Scalar] = Field(min_length=1)


class InputParams(Section):
    """PARAMS about how the data encode treatment and time (``impact_measure.inputs``).

    ``treatment_values`` maps ``treatment_column`` values to 1/0; ``time_type`` says whether
    ``time_column`` and ``treatment_time`` are numbered periods or dates (``auto``: periods if
    the column is numeric or numeric text, else dates).
    """

    treatment_values: TreatmentValues | None = None
    time_type: Literal["auto", "period", "date"] = "auto"


class MeasurementSpec(Section):
    MODEL: Annotated[str, registered(lambda: model_names(), _unknown_model)]
    PARAMS: dict[str, Any] = Field(default_factory=dict)


class MeasureConfig(Section):
    """The documented layout of a measure config (docs/manifest.md); the stage
    reads it after the ``SCALE`` overlay has been applied (``parse_config``)."""

    DATA: DataSpec
    MEASUREMENT: MeasurementSpec
    SCALE: dict[str, Any] | None = None


def check_layout(raw: Any) -> MeasureConfig:
    """``raw`` as a ``MeasureConfig`` whose source type and model are registered (the
    manifest's check, before any data is read).

    Raises:
        ValidationError: the layout is wrong or a name is unknown.
    """
    return MeasureConfig.model_validate(raw, context={REGISTERED: True})


def source_names() -> list[str]:
    """Every source the measure stage knows: built-ins and plugins."""
    from impact_measure.pipeline import SOURCES  # pandas: the built-ins register on import

    return SOURCES.names()


def model_names() -> list[str]:
    """Every model the measure stage knows: the six built-ins (in their documented order)
    and plugin models (entry points ``impact_engine.models``)."""
    from impact_contracts import MODEL_TYPES

    from impact_measure.pipeline import MODELS  # pandas: plugins register on import

    return [*MODEL_TYPES, *(name for name in MODELS.names() if name not in MODEL_TYPES)]


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overlay`` merged in; nested mappings merge key by key."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """``KEY.PATH: message`` lines for each pydantic error."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{path or '<root>'}: {message}")
    return "; ".join(lines)


def validate_section(model: type[M], data: Any, prefix: str) -> M:
    """Validate ``data`` as ``model``, turning errors into ``ConfigError`` at ``prefix``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix)) from None


def parse_config(raw: Any, phase: Literal["pilot", "scale"]) -> MeasureConfig:
    """Parse a measure config, deep-merging ``SCALE`` over it for ``phase == "scale"``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"measure_config: expected a mapping, got {type(raw).__name__}")
    if phase == "scale" and raw.get("SCALE") is not None:
        scale = raw["SCALE"]
        if not isinstance(scale, dict):
            raise ConfigError(f"SCALE: expected a mapping, got {type(scale).__name__}")
        if "SCALE" in scale:
            raise ConfigError("SCALE.SCALE: nested SCALE sections are not allowed")
        raw = deep_merge({k: v for k, v in raw.items() if k != "SCALE"}, scale)
    return validate_section(MeasureConfig, raw, "")

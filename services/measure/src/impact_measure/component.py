"""The MEASURE component: ``execute(event) -> MeasureResult dict`` (pure, no Kafka)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from impact_contracts import ComponentError, MeasureResult
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from impact_measure.cache import COUNTS, ResultCache, cache_key, mark_cached
from impact_measure.catalog import MEASURE_COMPONENTS
from impact_measure.config import (
    MAX_SAMPLE_SIZE,
    MAX_SEED,
    MeasureConfig,
    parse_config,
    validate_section,
)
from impact_measure.models.base import DESIGNS, design_of, plain
from impact_measure.pipeline import measure, require_scale_data
from impact_measure.sources import LoadRequest
from impact_measure.storage import open_storage


class MeasureEvent(BaseModel):
    """The fields of a ``measure.requested`` command the component reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    initiative_id: str = Field(min_length=1)
    phase: Literal["pilot", "scale"] = "pilot"
    measure_config: dict[str, Any]
    sample_size: int | None = Field(default=None, ge=1, le=MAX_SAMPLE_SIZE)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


def model_seed(seed: int | None, phase: str, initiative_id: str) -> int:
    """Seed for a model's own randomness (bootstrap), stable across processes."""
    digest = hashlib.sha256(f"{seed}:{phase}:{initiative_id}:model".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@MEASURE_COMPONENTS.register()
class Measure:
    """Measure one initiative's causal impact: Load → Transform → Measure → Store.

    Arguments:
        data_root: file sources must resolve inside this directory (``None``: anywhere).
        storage_url: sub-path of the operator's storage root (``IMPACT_STORAGE_ROOT``)
            to append results to as JSON lines; absolute paths and ``..`` are rejected.
        cache: reuse results from the content-addressed cache under the storage root
            (``impact_measure.cache``); ``False`` measures every time and writes no entry.
    """

    def __init__(
        self, data_root: str | None = None, storage_url: str | None = None, cache: bool = True
    ) -> None:
        self.data_root = Path(data_root) if data_root else None
        self.storage = open_storage(storage_url)
        self.cache = ResultCache() if cache else None

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        """Return a ``MeasureResult`` dict for ``event``, from the cache when it holds one
        (the caller learns which through ``cache.observe()``).

        Raises:
            ConfigError: bad config (key path in the message), unknown model/source,
                missing column, file missing or outside the data root.
            ComponentError: the data cannot support an estimate (too few rows, failed fit).
        """
        request = validate_section(MeasureEvent, event, "event")
        config = parse_config(request.measure_config, request.phase)
        if request.phase == "scale":
            require_scale_data(request.measure_config, config)
        keyed = cache_key(request.model_dump(), config, self.data_root) if self.cache else None
        cached = self.cache.get(keyed[0]) if self.cache and keyed else None
        if cached is not None:
            COUNTS.add("hit", config.MEASUREMENT.MODEL)
            mark_cached()
            self.storage.store({"phase": request.phase, **cached})
            return cached
        output = self._estimate(request, config)
        if self.cache is not None and keyed is not None:
            self.cache.put(*keyed, output)
        self.storage.store({"phase": request.phase, **output})
        return output

    def _estimate(self, request: MeasureEvent, config: MeasureConfig) -> dict[str, Any]:
        """Load → Transform → Measure: one model fit (counted in ``cache.COUNTS``)."""
        load_request = LoadRequest(
            phase=request.phase,
            sample_size=request.sample_size,
            seed=request.seed,
            data_root=self.data_root,
        )
        seed = model_seed(request.seed, request.phase, request.initiative_id)
        measurement = measure(config, load_request, seed)
        COUNTS.add("fit", config.MEASUREMENT.MODEL)
        estimate = measurement.estimate
        diagnostics = {
            **estimate.diagnostics,
            "phase": request.phase,
            "source": config.DATA.SOURCE.type,
            "model_name": config.MEASUREMENT.MODEL,
            "n_rows_loaded": measurement.n_rows_loaded,
            "sample_size_requested": request.sample_size,
            "alpha": config.MEASUREMENT.PARAMS.get("alpha", 0.05),
        }
        try:
            result = MeasureResult(
                initiative_id=request.initiative_id,
                model_type=design_of(config.MEASUREMENT.MODEL),
                effect_estimate=estimate.effect,
                ci_lower=estimate.ci_lower,
                ci_upper=estimate.ci_upper,
                p_value=estimate.p_value,
                sample_size=estimate.sample_size,
                n_treated=estimate.n_treated,
                n_control=estimate.n_control,
                n_pre=estimate.n_pre,
                n_post=estimate.n_post,
                diagnostics=plain(diagnostics),
            )
        except ValidationError as exc:
            raise ComponentError(f"measure result breaks the contract: {exc}") from exc
        return result.model_dump()


@MEASURE_COMPONENTS.register()
class MockMeasure:
    """Returns a fixed valid result (effect 10, CI [5, 15]) without touching data."""

    def __init__(
        self, data_root: str | None = None, storage_url: str | None = None, cache: bool = True
    ) -> None:
        self.data_root = data_root

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        request = validate_section(MeasureEvent, event, "event")
        model = request.measure_config.get("MEASUREMENT", {}).get("MODEL", "experiment")
        result = MeasureResult(
            initiative_id=request.initiative_id,
            model_type=DESIGNS.get(model, "experiment"),
            effect_estimate=10.0,
            ci_lower=5.0,
            ci_upper=15.0,
            p_value=0.01,
            sample_size=request.sample_size or 100,
            n_treated=50,
            n_control=50,
            diagnostics={"mock": True, "phase": request.phase},
        )
        return result.model_dump()

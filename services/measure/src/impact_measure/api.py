"""What other packages (the orchestrator, the CLI) use of the MEASURE stage: one module.

The config schema and storage paths load with this module (pydantic only); everything
that needs pandas (sources, models, the pipeline, the component) loads on first use
(PEP 562), so the orchestrator's manifest check does not import the data libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts.lazy import load_lazily

from impact_measure.config import (
    MAX_SIMULATED_CELLS,
    InputParams,
    MeasureConfig,
    check_layout,
    deep_merge,
    model_names,
    parse_config,
    source_names,
)
from impact_measure.storage import (
    confine,
    relative_path_problem,
    storage_problem,
    storage_root,
    write_atomically,
)

if TYPE_CHECKING:
    from impact_measure.cache import COUNTS
    from impact_measure.component import MEASURE_COMPONENTS, Measure
    from impact_measure.handler import STAGE, MeasureHandler
    from impact_measure.pipeline import MODELS, SOURCES, check, require_scale_data
    from impact_measure.sources import LoadRequest
    from impact_measure.sources.access import (
        CREDENTIALS_REASON,
        credentials_in,
        waiting_at_most,
        waiting_out,
    )
    from impact_measure.sources.frames import get_frame, put_frame
    from impact_measure.sources.s3 import S3Location, s3_client, s3_outage, s3_reason
    from impact_measure.sources.simulator import SimulatorConfig
    from impact_measure.transforms import PARAMS_MODELS

_HOMES = {
    # the stage: its handler, component and registry
    "STAGE": "impact_measure.handler",
    "MeasureHandler": "impact_measure.handler",
    "Measure": "impact_measure.component",
    "MEASURE_COMPONENTS": "impact_measure.component",
    "COUNTS": "impact_measure.cache",
    # data: sources (built-ins registered), transforms, the pipeline's checks
    "SOURCES": "impact_measure.pipeline",
    "MODELS": "impact_measure.pipeline",
    "check": "impact_measure.pipeline",
    "require_scale_data": "impact_measure.pipeline",
    "LoadRequest": "impact_measure.sources",
    "PARAMS_MODELS": "impact_measure.transforms",
    "SimulatorConfig": "impact_measure.sources.simulator",
    "get_frame": "impact_measure.sources.frames",
    "put_frame": "impact_measure.sources.frames",
    # access to outside systems: credentials, outages, S3
    "CREDENTIALS_REASON": "impact_measure.sources.access",
    "credentials_in": "impact_measure.sources.access",
    "waiting_at_most": "impact_measure.sources.access",
    "waiting_out": "impact_measure.sources.access",
    "S3Location": "impact_measure.sources.s3",
    "s3_client": "impact_measure.sources.s3",
    "s3_outage": "impact_measure.sources.s3",
    "s3_reason": "impact_measure.sources.s3",
}


def __getattr__(name: str) -> Any:
    """Load a pandas-bound name from its module on first use (PEP 562)."""
    return load_lazily(__name__, _HOMES, name)


__all__ = [
    # config and storage (loaded with this module)
    "MAX_SIMULATED_CELLS",
    "InputParams",
    "MeasureConfig",
    "check_layout",
    "confine",
    "deep_merge",
    "model_names",
    "parse_config",
    "relative_path_problem",
    "source_names",
    "storage_problem",
    "storage_root",
    "write_atomically",
    # loaded on first use
    "STAGE",
    "MeasureHandler",
    "Measure",
    "MEASURE_COMPONENTS",
    "COUNTS",
    "SOURCES",
    "MODELS",
    "check",
    "require_scale_data",
    "LoadRequest",
    "PARAMS_MODELS",
    "SimulatorConfig",
    "get_frame",
    "put_frame",
    "CREDENTIALS_REASON",
    "credentials_in",
    "waiting_at_most",
    "waiting_out",
    "S3Location",
    "s3_client",
    "s3_outage",
    "s3_reason",
]

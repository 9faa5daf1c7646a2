"""What other packages (the orchestrator, the CLI) use of the MEASURE stage: one module.

The config schema and storage paths load with this module (pydantic only); everything
that needs pandas (sources, models, the pipeline, the component) loads on first use
(PEP 562), so the orchestrator's manifest check does not import the data libraries.
Every name is re-exported explicitly (``name as name``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts.lazy import load_lazily

from impact_measure.config import MAX_SIMULATED_CELLS as MAX_SIMULATED_CELLS
from impact_measure.config import InputParams as InputParams
from impact_measure.config import MeasureConfig as MeasureConfig
from impact_measure.config import check_layout as check_layout
from impact_measure.config import deep_merge as deep_merge
from impact_measure.config import model_names as model_names
from impact_measure.config import parse_config as parse_config
from impact_measure.config import source_names as source_names
from impact_measure.storage import confine as confine
from impact_measure.storage import relative_path_problem as relative_path_problem
from impact_measure.storage import storage_problem as storage_problem
from impact_measure.storage import storage_root as storage_root
from impact_measure.storage import write_atomically as write_atomically

if TYPE_CHECKING:
    from impact_measure.cache import COUNTS as COUNTS
    from impact_measure.component import MEASURE_COMPONENTS as MEASURE_COMPONENTS
    from impact_measure.component import Measure as Measure
    from impact_measure.handler import STAGE as STAGE
    from impact_measure.handler import MeasureHandler as MeasureHandler
    from impact_measure.pipeline import MODELS as MODELS
    from impact_measure.pipeline import SOURCES as SOURCES
    from impact_measure.pipeline import check as check
    from impact_measure.pipeline import require_scale_data as require_scale_data
    from impact_measure.sources import LoadRequest as LoadRequest
    from impact_measure.sources.access import CREDENTIALS_REASON as CREDENTIALS_REASON
    from impact_measure.sources.access import credentials_in as credentials_in
    from impact_measure.sources.access import waiting_at_most as waiting_at_most
    from impact_measure.sources.access import waiting_out as waiting_out
    from impact_measure.sources.frames import get_frame as get_frame
    from impact_measure.sources.frames import put_frame as put_frame
    from impact_measure.sources.s3 import S3Location as S3Location
    from impact_measure.sources.s3 import s3_client as s3_client
    from impact_measure.sources.s3 import s3_outage as s3_outage
    from impact_measure.sources.s3 import s3_reason as s3_reason
    from impact_measure.sources.simulator import SimulatorConfig as SimulatorConfig
    from impact_measure.transforms import PARAMS_MODELS as PARAMS_MODELS

#: the names that load on first use, by the module they load
_LAZY = {
    # the stage: its handler, component (with every built-in registered) and counters
    "impact_measure.handler": ("STAGE", "MeasureHandler"),
    "impact_measure.component": ("Measure", "MEASURE_COMPONENTS"),
    "impact_measure.cache": ("COUNTS",),
    # data: sources and models (built-ins registered), transforms, the pipeline's checks
    "impact_measure.pipeline": ("SOURCES", "MODELS", "check", "require_scale_data"),
    "impact_measure.sources": ("LoadRequest",),
    "impact_measure.transforms": ("PARAMS_MODELS",),
    "impact_measure.sources.simulator": ("SimulatorConfig",),
    "impact_measure.sources.frames": ("get_frame", "put_frame"),
    # access to outside systems: credentials, outages, S3
    "impact_measure.sources.access": (
        "CREDENTIALS_REASON",
        "credentials_in",
        "waiting_at_most",
        "waiting_out",
    ),
    "impact_measure.sources.s3": ("S3Location", "s3_client", "s3_outage", "s3_reason"),
}
_HOMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    """Load a pandas-bound name from its module on first use (PEP 562)."""
    return load_lazily(__name__, _HOMES, name)

"""Documented input limits of a manifest (docs/manifest.md, "Limits").

Sizes are checked before a file is parsed; counts before anything per initiative runs.
Value limits are shared with the measure stage, which checks them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from impact_contracts.events import MAX_INITIATIVES, MAX_SAMPLE_SIZE, MAX_SEED, MAX_WORKERS
from impact_measure.api import MAX_SIMULATED_CELLS

MiB = 2**20

__all__ = ["MAX_SAMPLE_SIZE", "MAX_SEED", "MAX_SIMULATED_CELLS", "MAX_WORKERS", "Limits"]


@dataclass(frozen=True)
class Limits:
    """Size and count limits; the defaults fit a 100,000-initiative manifest.

    Attributes:
        manifest_bytes: the manifest file (100,000 initiatives with inline configs of
            the benchmark's size take 35 MiB; with measure-config files, 9 MiB).
        file_bytes: each stage or measure-config file the manifest names.
        initiatives: entries in ``INITIATIVES``.
        yaml_values: values in one file after YAML aliases are expanded (an alias bomb
            of a few lines would otherwise expand to billions).
        errors_shown: errors listed before the rest are only counted.
    """

    manifest_bytes: int = 40 * MiB
    file_bytes: int = 1 * MiB
    initiatives: int = MAX_INITIATIVES
    yaml_values: int = 20_000_000
    errors_shown: int = 100

"""The check before publishing: read each initiative's data as a measure replica would
(load, transform, treatment/time values, the model's columns and types) without estimating.

Every problem is one line ``<manifest>: INITIATIVES[i].measure_config: <data>: <key>: <reason>``.
Simulated data is not checked (its config already is, when the manifest loads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from impact_contracts import ImpactError
from impact_measure.api import (
    SOURCES,
    LoadRequest,
    check,
    parse_config,
    require_scale_data,
    waiting_at_most,
)

from impact_orchestrator.manifest import Manifest

Progress = Callable[[int, int], None]
Phase = Literal["pilot", "scale"]


def check_data(
    manifest: Manifest,
    *,
    data_root: Path | None = None,
    name: str = "manifest",
    wait_s: float = 5.0,
    on_progress: Progress | None = None,
) -> list[str]:
    """One line per initiative whose data the measure stage could not use (empty: all
    fine). A config named by many initiatives is checked once, pilot and scale phases.

    Arguments:
        data_root: file sources must resolve inside it, as on the services.
        name: how the lines name the manifest (its file).
        wait_s: how long an unreachable source is waited for before it is a problem.
    """
    problems: list[str] = []
    seen: dict[str, str | None] = {}
    total = len(manifest.initiatives)
    with waiting_at_most(wait_s):
        for index, spec in enumerate(manifest.initiatives):
            key = json.dumps(spec.measure_config, sort_keys=True, default=str)
            if key not in seen:
                seen[key] = data_problem(spec.measure_config, data_root)
            if seen[key] is not None:
                problems.append(f"{name}: INITIATIVES[{index}].measure_config: {seen[key]}")
            if on_progress is not None:
                on_progress(index + 1, total)
    return problems


def data_problem(raw: dict[str, Any], data_root: Path | None) -> str | None:
    """Why the measure stage could not use the data of config ``raw``, or None."""
    phases: tuple[Phase, ...] = ("pilot", "scale") if raw.get("SCALE") is not None else ("pilot",)
    try:
        for phase in phases:
            config = parse_config(raw, phase)
            if SOURCES.get(config.DATA.SOURCE.type).draws_scale_sample:
                return None
            if phase == "scale":
                require_scale_data(raw, config)
            check(config, LoadRequest(phase=phase, data_root=data_root))
    except ImpactError as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None

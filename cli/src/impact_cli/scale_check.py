"""Warnings of ``impact check`` and ``impact publish`` about scale data: an initiative
whose scale measurement cannot run with what the manifest holds (its source draws no
scale sample and its measure config has no ``SCALE`` section). Not an error: the scale
data may come later (decision 0083), but the user learns before publishing what the
orchestrator will do with such an initiative."""

from __future__ import annotations

from typing import Any

from impact_cli.common import errors


def scale_warnings(manifest: Any) -> list[str]:
    """One line per initiative of ``manifest`` (a loaded ``Manifest``) that has no scale
    data, saying what the run will do with it; none for a pilot-only run."""
    from impact_orchestrator.lifecycle import scale_ready, source_type

    if manifest.pilot_only:
        return []
    lines = []
    for spec in manifest.initiatives:
        if scale_ready(spec.measure_config):
            continue
        why = (
            f"{spec.initiative_id}: no scale data (its {source_type(spec.measure_config)!r} "
            "source draws no scale sample and its measure config has no SCALE section)"
        )
        if manifest.approval == "required":
            then = (
                "if selected, it is scaled only once scale data is attached with impact scale "
                f"RUN_ID {spec.initiative_id} CONFIG after approval, else it is left out "
                "(a failure at scale when the scale deadline passes)"
            )
        else:
            then = (
                "it will be left out of the allocation; add a SCALE section, or set "
                "approval: required and attach scale data with impact scale after approval"
            )
        lines.append(f"{why}: {then}")
    return lines


def warn_scale_data(manifest: Any, name: str) -> None:
    """Print :func:`scale_warnings` on stderr, one ``warning`` line each."""
    for line in scale_warnings(manifest):
        errors.print(f"warning {name}: {line}", highlight=False, markup=False, soft_wrap=True)

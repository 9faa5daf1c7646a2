"""``impact pilots RUN_ID``: a finished run's pilot measurements as earlier pilots for a
later manifest's prior (``EVALUATE: {earlier_pilots: pilots.csv}``, decision 0094)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from impact_cli.common import fail
from impact_cli.history import read_events
from impact_cli.options import Bootstrap, Prefix, Registry

VALUE_MODEL = ("value_per_unit", "units_at_scale", "horizon")
COLUMNS = (
    "initiative_id",
    "run_id",
    "model_type",
    "estimate",
    "ci_lower",
    "ci_upper",
    *VALUE_MODEL,
)


def pilot_records(
    run_id: str, events: Iterable[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One record per initiative measured at pilot scale (the last measurement of each,
    in the order first measured), with the run manifest's value model of the initiative."""
    events = list(events)
    specs: dict[str, dict[str, Any]] = {}
    for name, value in events:
        if name == "manifest_submitted":
            specs = {s["initiative_id"]: s for s in value.get("initiatives", [])}
    records: dict[str, dict[str, Any]] = {}
    for name, value in events:
        if name != "measure_completed" or value.get("phase") != "pilot":
            continue
        result, initiative = value["result"], str(value["initiative_id"])
        spec = specs.get(initiative, {})
        records[initiative] = {
            "initiative_id": initiative,
            "run_id": run_id,
            "model_type": result.get("model_type"),
            "estimate": result["effect_estimate"],
            "ci_lower": result["ci_lower"],
            "ci_upper": result["ci_upper"],
            **{key: spec.get(key) for key in VALUE_MODEL},
        }
    return list(records.values())


def as_csv(records: list[dict[str, Any]]) -> str:
    """The records as CSV with the ``COLUMNS`` header (an absent value: an empty cell)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def pilots(
    run_id: str,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the CSV here (default: standard output)."),
    ] = None,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
) -> None:
    """RUN_ID's pilot measurements as CSV, for a later manifest's EVALUATE earlier_pilots
    (an embedded run of the history or a Kafka run)."""
    records = pilot_records(run_id, read_events(run_id, bootstrap, registry, prefix))
    if not records:
        fail(f"run {run_id}: no pilot measurements (unknown run, or none finished yet)")
    text = as_csv(records)
    if output is None:
        print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"{len(records)} pilots of run {run_id} written to {output}", err=True)

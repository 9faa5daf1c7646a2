"""``EVALUATE: {earlier_pilots: ...}``: a file or a list of earlier pilots, checked at
publish and embedded in the manifest as records (decision 0094)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pytest
from impact_evaluate import EVALUATE_COMPONENTS
from impact_orchestrator import run_embedded
from impact_orchestrator.commands import evaluate_requested
from impact_orchestrator.manifest import Catalogs, ManifestError, load_manifest
from impact_schemas import catalog
from impact_schemas.events import from_avro, to_avro
from impact_schemas.examples import example

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import ALLOCATE, MEASURE, measure_config

#: the real Evaluate (it takes ``earlier_pilots``), fake measure and allocate
REAL_EVALUATE = Catalogs(MEASURE, EVALUATE_COMPONENTS, ALLOCATE)
PILOTS = [
    {"estimate": 3.0, "ci_lower": 1.0, "ci_upper": 5.0, "model_type": "experiment"},
    {"estimate": 1.5, "ci_lower": -2.5, "ci_upper": 5.5, "value_per_unit": 2.0},
]


def manifest(earlier: Any, count: int = 6) -> dict[str, Any]:
    return {
        "budget": 25.0,
        "unit": "EUR",
        "EVALUATE": {"earlier_pilots": earlier},
        "INITIATIVES": [
            {
                "initiative_id": f"i{k}",
                "cost_to_scale": 10.0,
                "measure_config": measure_config(effect=float(k)),
            }
            for k in range(count)
        ],
    }


def errors(write_yaml: WriteYaml, earlier: Any) -> list[str]:
    path = write_yaml("manifest.yaml", manifest(earlier))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, catalogs=REAL_EVALUATE)
    return caught.value.errors


def test_an_inline_list_is_embedded_in_the_payload(write_yaml: WriteYaml) -> None:
    loaded = load_manifest(write_yaml("manifest.yaml", manifest(PILOTS)), catalogs=REAL_EVALUATE)
    payload = loaded.to_event_payload()
    assert payload["evaluate"]["kwargs"]["earlier_pilots"] == PILOTS
    command = evaluate_requested("r", loaded, loaded.initiatives[0], {})
    assert "earlier_pilots" not in command.payload["component_kwargs"]


def test_the_records_cross_the_wire_in_the_evaluate_kwargs_json(write_yaml: WriteYaml) -> None:
    """``manifest_submitted`` carries stage kwargs as a JSON string: no schema change."""
    loaded = load_manifest(write_yaml("manifest.yaml", manifest(PILOTS)), catalogs=REAL_EVALUATE)
    value = {**example("manifest_submitted"), "evaluate": loaded.to_event_payload()["evaluate"]}
    parsed = catalog.event_spec("manifest_submitted").parsed_schema
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, to_avro("manifest_submitted", value))
    buffer.seek(0)
    record = fastavro.schemaless_reader(buffer, parsed, None)
    decoded = from_avro("manifest_submitted", record)  # type: ignore[arg-type]
    assert decoded["evaluate"]["kwargs"]["earlier_pilots"] == PILOTS


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_a_file_next_to_the_manifest_is_read_into_records(
    write_yaml: WriteYaml, tmp_path: Path, suffix: str
) -> None:
    frame = pd.DataFrame(PILOTS)
    path = tmp_path / "history" / f"pilots{suffix}"
    path.parent.mkdir()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(p) for p in PILOTS) + "\n", encoding="utf-8")
    source = write_yaml("manifest.yaml", manifest(f"history/pilots{suffix}"))
    loaded = load_manifest(source, catalogs=REAL_EVALUATE)
    assert loaded.evaluate.kwargs["earlier_pilots"] == PILOTS


def test_bad_rows_of_a_file_are_named_by_line(write_yaml: WriteYaml, tmp_path: Path) -> None:
    (tmp_path / "pilots.csv").write_text(
        "estimate,ci_lower,ci_upper\n1,0,2\n2,5,3\ninf,0,1\nabc,0,1\n", encoding="utf-8"
    )
    assert errors(write_yaml, "pilots.csv") == [
        "manifest.yaml: EVALUATE.earlier_pilots: pilots.csv line 3: ci_lower: 5 > ci_upper 3",
        "manifest.yaml: EVALUATE.earlier_pilots: pilots.csv line 4: estimate: must be a "
        "finite number, got inf",
        "manifest.yaml: EVALUATE.earlier_pilots: pilots.csv line 5: estimate: must be a "
        "finite number, got 'abc'",
    ]


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        ("estimate,ci_upper\n1,2\n", "p.csv", "cannot read p.csv: missing column(s) ci_lower"),
        ("estimate,ci_lower,ci_upper\n,0,2\n", "p.csv", "p.csv line 2: estimate: required key"),
        ("x", "p.xlsx", "cannot read p.xlsx: expected a .csv, .parquet, .jsonl, .ndjson file"),
    ],
)
def test_unusable_files_are_refused(
    write_yaml: WriteYaml, tmp_path: Path, content: str, name: str, reason: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    found = errors(write_yaml, name)
    assert len(found) == 1
    assert found[0].startswith(f"manifest.yaml: EVALUATE.earlier_pilots: {reason}")


def test_a_missing_file_and_bad_inline_records_are_refused(write_yaml: WriteYaml) -> None:
    assert errors(write_yaml, "gone.csv") == [
        "manifest.yaml: EVALUATE.earlier_pilots: file not found: gone.csv"
    ]
    bad = [PILOTS[0], {"estimate": 1.0, "ci_lower": 2.0, "ci_upper": 1.0}]
    assert errors(write_yaml, bad) == [
        "manifest.yaml: EVALUATE.earlier_pilots[1].ci_lower: 2 > ci_upper 1"
    ]


#: earlier pilots like the cohort's (effects 0 to 5): the prior pools them
LIKE = [
    {"estimate": 0.2 * k, "ci_lower": 0.2 * k - 1.5, "ci_upper": 0.2 * k + 1.5} for k in range(30)
]
#: earlier pilots far above the cohort: another population, left out of the prior
FAR = [{"estimate": 40.0 + k, "ci_lower": 38.0 + k, "ci_upper": 42.0 + k} for k in range(30)]


def test_the_run_pools_earlier_pilots_of_its_population(write_yaml: WriteYaml) -> None:
    """The same cohort predicts otherwise with earlier pilots like its own, and exactly as
    alone with earlier pilots from another population (decision 0094)."""
    predicted = []
    for earlier in ([], LIKE, FAR):
        path = write_yaml("manifest.yaml", manifest(earlier))
        result = run_embedded(path, catalogs=REAL_EVALUATE, run_id="e")
        predicted.append({r["initiative_id"]: r["predicted_return"] for r in result["reports"]})
    assert predicted[0].keys() == predicted[1].keys()
    assert max(abs(predicted[1][i] - predicted[0][i]) for i in predicted[0]) > 0.01
    assert predicted[2] == predicted[0]

"""One unit: effects in different units are refused at publish, naming the file, the
initiative and the key; conversions put every value in the manifest's unit."""

from __future__ import annotations

from typing import Any

import pytest
from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Catalogs, ManifestError, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config


def entry(initiative_id: str, effect: float = 2.0, **value: Any) -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "cost_to_scale": 10.0,
        "measure_config": measure_config(effect=effect),
        **value,
    }


def errors(write_yaml: WriteYaml, catalogs: Catalogs, **manifest: Any) -> list[str]:
    path = write_yaml("manifest.yaml", {"budget": 100.0, **manifest})
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, catalogs=catalogs)
    return caught.value.errors


def test_mixed_outcome_units_are_refused(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    found = errors(
        write_yaml,
        catalogs,
        INITIATIVES=[
            entry("ab-test", outcome_unit="revenue per customer"),
            entry("daily-sales", outcome_unit="sales per day"),
        ],
    )
    assert len(found) == 2
    assert found[0].startswith(
        "manifest.yaml: INITIATIVES[0].value_per_unit: 'ab-test' measures 'revenue per "
        "customer' but other initiatives measure ['sales per day']"
    )
    assert found[1].startswith("manifest.yaml: INITIATIVES[1].value_per_unit: 'daily-sales'")


def test_an_outcome_unit_other_than_the_manifest_unit_needs_a_conversion(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    found = errors(
        write_yaml,
        catalogs,
        unit="EUR",
        INITIATIVES=[entry("a", outcome_unit="EUR"), entry("b", outcome_unit="visits")],
    )
    assert found == [
        "manifest.yaml: INITIATIVES[1].value_per_unit: 'b' measures 'visits', not the "
        "manifest unit 'EUR': give value_per_unit (a EUR per visits)"
    ]


def test_a_conversion_needs_the_manifest_unit(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    found = errors(write_yaml, catalogs, INITIATIVES=[entry("a", value_per_unit=2.0)])
    assert found == [
        "manifest.yaml: INITIATIVES[0].value_per_unit: 'a' converts its effect to a common "
        "unit: set the manifest's unit"
    ]


def test_values_are_reported_in_the_manifest_unit(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    """value = effect x value_per_unit x units_at_scale x horizon, the actual too."""
    path = write_yaml(
        "manifest.yaml",
        {
            "budget": 100.0,
            "scale_sample_size": 500,
            "unit": "EUR",
            "EVALUATE": {"estimates": "raw"},
            "INITIATIVES": [
                entry(
                    "a",
                    effect=2.0,
                    outcome_unit="visits",
                    value_per_unit=0.5,
                    units_at_scale=100.0,
                    horizon=3.0,
                ),
                entry("b", effect=1.0, outcome_unit="EUR"),
            ],
        },
    )
    result = run_embedded(path, catalogs=catalogs, run_id="u")
    reports = {r["initiative_id"]: r for r in result["reports"]}
    assert reports["a"]["predicted_return"] == 2.0 * 150.0
    assert reports["a"]["actual_return"] == 2.0 * 150.0
    assert reports["a"]["actual_ci_lower"] == 1.0 * 150.0
    assert reports["a"]["value_per_cost"] == 300.0 / 10.0
    assert reports["b"]["predicted_return"] == 1.0
    assert result["summary"]["unit"] == "EUR"

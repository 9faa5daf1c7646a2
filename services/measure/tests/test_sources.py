"""Simulator determinism and phases; the file source and SCALE overlay; storage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from impact_contracts import ConfigError
from impact_measure import Measure
from impact_measure.sources import LoadRequest
from impact_measure.sources.simulator import SimulatorSource, derive_seed

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(phase="pilot", sample_size=None, **config):
    return SimulatorSource().load(config, LoadRequest(phase=phase, sample_size=sample_size))


def test_simulator_is_deterministic_and_scale_is_a_different_larger_sample():
    pilot = load(seed=3, n_products=50)
    pd.testing.assert_frame_equal(pilot, load(seed=3, n_products=50))
    scale = load(phase="scale", sample_size=500, seed=3, n_products=50)
    assert len(pilot) == 50 and len(scale) == 500
    assert not scale["price"].head(50).equals(pilot["price"])


def test_derived_seed_is_stable_across_processes():
    code = (
        "from impact_measure.sources.simulator import derive_seed; print(derive_seed(7, 'scale'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert int(other) == derive_seed(7, "scale") != 7


def test_simulator_designs_have_the_documented_shapes():
    assert load(seed=1, n_products=40, design="panel").shape[0] == 40 * 91
    series = load(seed=1, n_products=40, design="series")
    assert list(series.columns[:2]) == ["date", "post"] and len(series) == 91
    assert set(series["n_products"]) == {40}
    confounded = load(seed=1, n_products=2000, assignment="confounded", treatment_fraction=0.3)
    means = confounded.groupby("treated")["baseline_revenue"].mean()
    assert means[1] > 1.5 * means[0]


def test_file_example_reads_pilot_and_scale_files(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path))
    config = yaml.safe_load((EXAMPLES / "configs" / "file_experiment.yaml").read_text())
    component = Measure(data_root=str(EXAMPLES / "data"), storage_url="results")
    config["DATA"]["SOURCE"]["CONFIG"]["path"] = "retail_pilot.csv"
    config["SCALE"]["DATA"]["SOURCE"]["CONFIG"]["path"] = "retail_scale.csv"
    pilot = component.execute({"initiative_id": "f", "measure_config": config})
    scale = component.execute({"initiative_id": "f", "measure_config": config, "phase": "scale"})
    assert (pilot["sample_size"], scale["sample_size"]) == (200, 800)
    lines = (tmp_path / "results" / "measure_results.jsonl").read_text().splitlines()
    assert [json.loads(line)["phase"] for line in lines] == ["pilot", "scale"]
    assert json.loads(lines[1])["effect_estimate"] == scale["effect_estimate"]


def test_file_source_at_scale_needs_a_scale_section_naming_other_data():
    config = yaml.safe_load((EXAMPLES / "configs" / "file_experiment.yaml").read_text())
    component = Measure(data_root=str(EXAMPLES / "data"))
    config["DATA"]["SOURCE"]["CONFIG"]["path"] = "retail_pilot.csv"
    event = {"initiative_id": "f", "phase": "scale", "sample_size": 5000}
    without_scale = {k: v for k, v in config.items() if k != "SCALE"}
    with pytest.raises(ConfigError, match=r"^SCALE: phase 'scale' with a 'file' source needs"):
        component.execute({**event, "measure_config": without_scale})
    same_path = {**config, "SCALE": {"MEASUREMENT": {"PARAMS": {"alpha": 0.1}}}}
    with pytest.raises(ConfigError, match="would re-measure the pilot data"):
        component.execute({**event, "measure_config": same_path})
    pilot = component.execute({**event, "phase": "pilot", "measure_config": without_scale})
    assert pilot["sample_size"] == 200  # the file's rows; sample_size is not used by files

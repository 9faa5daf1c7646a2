"""``api.stage``: DataFrames written once as Parquet where the services read them (a
folder in the data root, or S3), their sources rewritten to ``file``/``s3``; the staged
data measure the same as the DataFrame, and re-staging is idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_contracts import ConfigError
from impact_measure.component import Measure
from impact_orchestrator import api

from services.orchestrator.tests.test_archive_s3 import sales
from tests.support.datastores import BUCKET

PARAMS = {"outcome_column": "y", "treatment_column": "t"}


def frame_portfolio() -> dict[str, Any]:
    row = {
        "initiative_id": "frame",
        "cost_to_scale": 10.0,
        "data": sales(11),
        "scale_data": sales(12),
        "model": "experiment",
        **PARAMS,
    }
    return api.portfolio([row], budget=100.0, seed=3)


def pilot_effect(config: dict[str, Any], data_root: Path | None = None) -> float:
    event = {"initiative_id": "frame", "measure_config": config}
    root = None if data_root is None else str(data_root)
    return float(Measure(data_root=root, cache=False).execute(event)["effect_estimate"])


def test_staging_to_the_data_root_is_idempotent_and_measures_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(api.STAGING_ENV, raising=False)
    monkeypatch.setenv("IMPACT_DATA_ROOT", str(tmp_path))
    manifest = frame_portfolio()
    staged = api.stage(manifest)
    config = staged["INITIATIVES"][0]["measure_config"]
    pilot, scale = config["DATA"]["SOURCE"], config["SCALE"]["DATA"]["SOURCE"]
    assert pilot["type"] == scale["type"] == "file"
    assert Path(pilot["CONFIG"]["path"]).parent == tmp_path / api.STAGING_FOLDER
    assert manifest["INITIATIVES"][0]["measure_config"]["DATA"]["SOURCE"]["type"] == "dataframe"
    written = sorted((tmp_path / api.STAGING_FOLDER).iterdir())
    stamps = [p.stat().st_mtime_ns for p in written]
    assert api.stage(frame_portfolio()) == staged  # same data, same names, nothing rewritten
    assert [p.stat().st_mtime_ns for p in written] == stamps and len(written) == 2
    original = manifest["INITIATIVES"][0]["measure_config"]
    assert pilot_effect(config, tmp_path) == pytest.approx(pilot_effect(original))


def test_staging_to_s3(s3_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(api.STAGING_ENV, f"s3://{BUCKET}/staging")
    manifest = frame_portfolio()
    staged = api.stage(manifest)
    source = staged["INITIATIVES"][0]["measure_config"]["DATA"]["SOURCE"]
    assert source["type"] == "s3" and source["CONFIG"]["url"].startswith(
        f"s3://{BUCKET}/staging/df-"
    )
    config = staged["INITIATIVES"][0]["measure_config"]
    original = manifest["INITIATIVES"][0]["measure_config"]
    assert pilot_effect(config) == pytest.approx(pilot_effect(original))
    assert api.stage(frame_portfolio()) == staged


def test_no_staging_location_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(api.STAGING_ENV, raising=False)
    monkeypatch.delenv("IMPACT_DATA_ROOT", raising=False)
    with pytest.raises(ConfigError, match="IMPACT_STAGING_URL"):
        api.stage(frame_portfolio())
    assert api.stage({"budget": 1, "INITIATIVES": []}) == {"budget": 1, "INITIATIVES": []}


def test_run_on_an_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="on: must be 'embedded' or 'kafka'"):
        api.run({"budget": 1, "INITIATIVES": []}, on="mars")

"""run_embedded takes a path, a mapping or a Manifest; a progress bar when asked;
dataframe sources; errors in a mapping name ``<manifest>``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from impact_contracts import ConfigError
from impact_orchestrator import ManifestError, load_manifest, run_embedded

SIMULATED = {
    "DATA": {"SOURCE": {"type": "simulator", "CONFIG": {"seed": 1, "n_products": 100}}},
    "MEASUREMENT": {
        "MODEL": "experiment",
        "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
    },
}
MAPPING = {
    "budget": 100,
    "seed": 1,
    "INITIATIVES": [{"initiative_id": "a", "cost_to_scale": 10, "measure_config": SIMULATED}],
}


def test_a_path_a_mapping_and_a_manifest_give_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(MAPPING))
    runs = [
        run_embedded(given, run_id="r", progress=False)
        for given in (str(path), MAPPING, load_manifest(path))
    ]
    assert runs[0]["reports"] == runs[1]["reports"] == runs[2]["reports"]


def test_errors_in_a_mapping_name_it() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest({**MAPPING, "budjet": 1})
    assert caught.value.errors == ["<manifest>: budjet: unknown key"]


def test_the_progress_bar_shows_each_stage(capsys: pytest.CaptureFixture[str]) -> None:
    run_embedded(MAPPING, run_id="r", progress=True)
    err = capsys.readouterr().err
    for stage in ("measure", "evaluate", "allocate"):
        assert stage in err


def test_a_missing_dataframe_is_one_line() -> None:
    config = {**SIMULATED, "DATA": {"SOURCE": {"type": "dataframe", "CONFIG": {"name": "x"}}}}
    with pytest.raises(ConfigError, match=r"^DATA\.SOURCE\.CONFIG\.name: no DataFrame 'x'"):
        from impact_measure import Measure

        Measure(cache=False).execute({"initiative_id": "i", "measure_config": config})

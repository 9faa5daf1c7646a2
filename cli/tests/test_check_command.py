"""``impact check``: the data of every initiative is read as a measure replica would,
without measuring; one line per problem (file or table, key, reason), exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from impact_cli.main import app
from impact_measure.sources.s3 import s3_client
from impact_measure.sources.sql import engine_for
from typer.testing import CliRunner

from tests.support.datastores import BUCKET, SQL_URL_ENV

PARAMS = {"outcome_column": "y", "treatment_column": "t"}


def config(source_type: str, params: dict[str, Any] | None = None, **source: Any) -> Any:
    return {
        "DATA": {"SOURCE": {"type": source_type, "CONFIG": source}},
        "MEASUREMENT": {"MODEL": "experiment", "PARAMS": params or PARAMS},
    }


def write_manifest(directory: Path, configs: list[Any]) -> Path:
    initiatives = [
        {"initiative_id": f"i{n}", "cost_to_scale": 10, "measure_config": c}
        for n, c in enumerate(configs)
    ]
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump({"budget": 100, "INITIATIVES": initiatives}))
    return path


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0] * 10, "t": [0, 1] * 20, "arm": ["a", "b"] * 20})


def data_problem_manifest(directory: Path, frame: pd.DataFrame) -> tuple[Path, list[str]]:
    """A manifest whose every initiative has a data problem, and the lines expected."""
    frame.to_csv(directory / "sales.csv", index=False)
    manifest = write_manifest(
        directory,
        [
            config("file", path="sales.csv"),
            config(
                "file", {"outcome_column": "revenue", "treatment_column": "t"}, path="sales.csv"
            ),
            config("file", {"outcome_column": "y", "treatment_column": "arm"}, path="sales.csv"),
            config("s3", url=f"s3://{BUCKET}/missing.csv"),
            config("sql", url_env=SQL_URL_ENV, table="missing_table"),
        ],
    )
    at, csv = f"{manifest}: INITIATIVES", directory / "sales.csv"
    return manifest, [
        f"{at}[1].measure_config: {csv}: MEASUREMENT.PARAMS.outcome_column: column "
        "'revenue' not in data (columns: y, t, arm)",
        f"{at}[2].measure_config: {csv}: MEASUREMENT.PARAMS.treatment_column: column 'arm' "
        "must be numeric 0/1, got str ('a', 'b'); map its values with MEASUREMENT.PARAMS."
        "treatment_values",
        f"{at}[3].measure_config: DATA.SOURCE.CONFIG.url: cannot read s3://{BUCKET}/missing.csv: "
        "NoSuchKey (The specified key does not exist.)",
        f"{at}[4].measure_config: DATA.SOURCE.CONFIG.table: cannot read sql:missing_table: "
        "Table missing_table not found",
    ]


def test_check_prints_one_line_per_data_problem(
    tmp_path: Path, frame: pd.DataFrame, s3_env: Any, sql_env: Any
) -> None:
    manifest, expected = data_problem_manifest(tmp_path, frame)
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"error {start}"), line


def test_check_passes_good_data_from_every_source(
    tmp_path: Path, frame: pd.DataFrame, s3_env: Any, sql_env: Any
) -> None:
    frame.to_csv(tmp_path / "sales.csv", index=False)
    s3_client().put_object(Bucket=BUCKET, Key="good.parquet", Body=frame.to_parquet())
    with engine_for(sql_env.url).begin() as connection:
        frame.to_sql("good", connection, if_exists="replace", index=False)
    manifest = write_manifest(
        tmp_path,
        [
            config("file", path="sales.csv"),
            config("s3", url=f"s3://{BUCKET}/good.parquet"),
            config("sql", url_env=SQL_URL_ENV, query="SELECT * FROM good"),
        ],
    )
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert result.exit_code == 0, result.output
    assert "3 initiatives checked" in result.output


def test_an_unreachable_source_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-shown")
    manifest = write_manifest(tmp_path, [config("s3", url="s3://b/k.csv")])
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith(
        f"error {manifest}: INITIATIVES[0].measure_config: s3://b/k.csv: s3 unreachable: "
    )
    assert "never-shown" not in result.output


def test_an_initiative_without_scale_data_is_a_warning_naming_it(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    """A file source draws no scale sample: without a SCALE section the check warns (exit
    0) and says what the run will do; a pilot-only run needs no scale data."""
    frame.to_csv(tmp_path / "sales.csv", index=False)
    frame.to_csv(tmp_path / "scale.csv", index=False)
    scale_data = {"DATA": {"SOURCE": {"CONFIG": {"path": "scale.csv"}}}}
    scaled = {**config("file", path="sales.csv"), "SCALE": scale_data}
    manifest = write_manifest(tmp_path, [config("file", path="sales.csv"), scaled])
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning")]
    assert warnings == [
        f"warning {manifest}: i0: no scale data (its 'file' source draws no scale sample and "
        "its measure config has no SCALE section): it will be left out of the allocation; add "
        "a SCALE section, or set approval: required and attach scale data with impact scale "
        "after approval"
    ]
    assert "2 initiatives checked" in result.output
    raw = yaml.safe_load(manifest.read_text())
    manifest.write_text(yaml.safe_dump({**raw, "approval": "required"}))
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert (
        "if selected, it is scaled only once scale data is attached with impact scale "
        "RUN_ID i0 CONFIG after approval" in result.output.replace("\n", " ")
    )
    manifest.write_text(yaml.safe_dump({**raw, "pilot_only": True}))
    result = CliRunner().invoke(app, ["check", str(manifest)])
    assert result.exit_code == 0 and "warning" not in result.output

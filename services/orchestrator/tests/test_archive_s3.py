"""The results archive on S3 (``IMPACT_ARCHIVE_URL``) has the local archive's layout and
bytes; a run reading file, S3 and PostgreSQL data leaks no credential into its events,
logs or archive. Real S3Proxy and PostgreSQL, started by the fixtures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from impact_measure.sources.s3 import s3_client
from impact_measure.sources.sql import engine_for
from impact_orchestrator import run_embedded

from tests.support.datastores import BUCKET, SQL_URL_ENV

FILES = ["pilot.jsonl", "report.jsonl", "run.json", "scale.jsonl"]
PARAMS = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x"]}


def sales(seed: int, n: int = 300) -> pd.DataFrame:
    from services.measure.tests.datasets import retail

    return retail(seed=seed, confounded=False, n=n)


def measure_config(source_type: str, pilot: dict[str, Any], scale: dict[str, Any]) -> Any:
    return {
        "DATA": {"SOURCE": {"type": source_type, "CONFIG": pilot}},
        "MEASUREMENT": {"MODEL": "experiment", "PARAMS": PARAMS},
        "SCALE": {"DATA": {"SOURCE": {"CONFIG": scale}}},
    }


def same_data_everywhere(directory: Path, postgres_url: str, tag: str) -> dict[str, Any]:
    """Measure configs reading the same pilot and scale data from a file, S3 and SQL."""
    configs: dict[str, Any] = {}
    locations: dict[str, dict[str, dict[str, Any]]] = {"file": {}, "s3": {}, "sql": {}}
    for phase, seed in (("pilot", 11), ("scale", 12)):
        frame = sales(seed)
        path = directory / f"{tag}-{phase}.csv"
        frame.to_csv(path, index=False)
        key = f"{tag}/{phase}.parquet"
        s3_client().put_object(Bucket=BUCKET, Key=key, Body=frame.to_parquet())
        with engine_for(postgres_url).begin() as connection:
            frame.to_sql(f"{tag}_{phase}", connection, if_exists="replace", index=False)
        locations["file"][phase] = {"path": str(path)}
        locations["s3"][phase] = {"url": f"s3://{BUCKET}/{key}"}
        locations["sql"][phase] = {"url_env": SQL_URL_ENV, "table": f"{tag}_{phase}"}
    for source_type, where in locations.items():
        configs[source_type] = measure_config(source_type, where["pilot"], where["scale"])
    return configs


def write_manifest(directory: Path, configs: dict[str, Any], **run_level: Any) -> Path:
    initiatives = [
        {"initiative_id": name, "cost_to_scale": 10, "measure_config": config}
        for name, config in configs.items()
    ]
    path = directory / "manifest.yaml"
    document = {"budget": 100, "seed": 3, "INITIATIVES": initiatives, **run_level}
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_s3_archive_matches_the_local_one_and_holds_no_credential(
    tmp_path: Path,
    s3_env: Any,
    sql_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "storage"))
    configs = same_data_everywhere(tmp_path, sql_env.url, "archive")
    manifest = write_manifest(tmp_path, configs, storage_url="team/pilots")
    statuses: list[Any] = []
    local = run_embedded(str(manifest), run_id="run-1", executor="thread")
    monkeypatch.setenv("IMPACT_ARCHIVE_URL", f"s3://{BUCKET}/archive")
    remote = run_embedded(
        str(manifest), run_id="run-1", executor="thread", on_status=statuses.append
    )

    assert (local["reports"], local["summary"]) == (remote["reports"], remote["summary"])
    estimates = {r["initiative_id"]: r["actual_return"] for r in remote["reports"]}
    assert len(set(estimates.values())) == 1 and set(estimates) == {"file", "s3", "sql"}
    local_dir = tmp_path / "storage" / "team" / "pilots" / "run-1"
    client = s3_client()
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="archive/team/pilots/run-1/")
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [f"archive/team/pilots/run-1/{name}" for name in FILES]
    archived = {}
    for name in FILES:
        body = client.get_object(Bucket=BUCKET, Key=f"archive/team/pilots/run-1/{name}")
        archived[name] = body["Body"].read().decode()
        assert archived[name] == (local_dir / name).read_text()

    out, err = capfd.readouterr()
    results = "\n".join([str(remote), str(statuses), *archived.values(), manifest.read_text()])
    logs = "\n".join([caplog.text, out, err])  # DEBUG included: botocore, sqlalchemy, psycopg
    for credential in (sql_env.password, s3_env.secret_key, s3_env.access_key):
        assert credential not in results and credential not in logs

"""Manifests name the s3 and sql sources; credentials in a manifest are refused."""

from __future__ import annotations

from typing import Any

from impact_orchestrator.manifest import Catalogs, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.test_manifest_errors import errors_of, initiative, manifest

PARAMS = {"outcome_column": "y", "treatment_column": "t"}


def config(source_type: str, **source: Any) -> dict[str, Any]:
    return {
        "DATA": {"SOURCE": {"type": source_type, "CONFIG": source}},
        "MEASUREMENT": {"MODEL": "experiment", "PARAMS": PARAMS},
    }


def test_s3_and_sql_sources_are_accepted(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    initiatives = [
        initiative("s3", config("s3", url="s3://bucket/sales.parquet")),
        initiative("sql", config("sql", url_env="WAREHOUSE_URL", table="sales")),
        initiative("query", config("sql", query="SELECT * FROM sales")),
    ]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=initiatives))
    loaded = load_manifest(path, None, catalogs=catalogs)
    assert [i.initiative_id for i in loaded.initiatives] == ["s3", "sql", "query"]


def test_credentials_and_bad_source_configs_are_refused_with_file_and_key(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    initiatives = [
        initiative("a", config("s3", url="s3://b/k.csv", aws_secret_access_key="abc")),
        initiative("b", config("sql", url_env="postgresql://u:secret@db/x", table="t")),
        initiative("c", config("sql", table="t", query="SELECT 1")),
        initiative("d", config("s3", url="https://b/k.csv")),
    ]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=initiatives))
    reason = "credentials must not be in a manifest; give them to the services through the "
    errors = errors_of(path, catalogs)
    assert errors[:2] == [
        f"manifest.yaml: INITIATIVES[0].measure_config.DATA.SOURCE.CONFIG."
        f"aws_secret_access_key: {reason}environment or a secret file (docs/data-sources.md)",
        f"manifest.yaml: INITIATIVES[1].measure_config.DATA.SOURCE.CONFIG.url_env: "
        f"{reason}environment or a secret file (docs/data-sources.md)",
    ]
    assert errors[2] == (
        "manifest.yaml: INITIATIVES[2].measure_config.DATA.SOURCE.CONFIG: "
        "give exactly one of 'table' or 'query'"
    )
    assert errors[3].startswith(
        "manifest.yaml: INITIATIVES[3].measure_config.DATA.SOURCE.CONFIG.url:"
    )
    assert all("secret@" not in e and "abc" not in e for e in errors)

"""The same portfolio from a file, S3 (S3Proxy), PostgreSQL and a DataFrame gives the same
report in embedded mode, and on Kafka with 2 measure replicas that read S3 and PostgreSQL
through their environment and the DataFrame staged (``api.stage``) in their data root."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from impact_cli.processes import SERVICES, ServiceProcesses
from impact_observe.bus import Bus
from impact_orchestrator import api, load_manifest, run_embedded

from scripts.local_datastores import Postgres, S3Proxy
from services.orchestrator.tests.test_archive_s3 import sales, same_data_everywhere
from tests.integration.stack import outcome, run_on_kafka
from tests.integration.test_cli import _message_count

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-data")


def datastore_env(s3: S3Proxy, postgres: Postgres) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "IMPACT_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": "us-east-1",
        "WAREHOUSE_URL": postgres.url,
    }


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str,
    schema_registry_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    s3proxy: S3Proxy,
    postgres: Postgres,
    data_dir: Path,
) -> Iterator[ServiceProcesses]:
    replicas = {name: 1 for name in SERVICES} | {"measure": 2}
    services = ServiceProcesses(
        kafka_bootstrap,
        schema_registry_url,
        tmp_path_factory.mktemp("sources-stack-logs"),
        replicas,
        data_root=data_dir,
        env={
            "IMPACT_TICK_INTERVAL_S": "0.2",
            "IMPACT_SOURCE_WAIT_S": "1",  # then the runtime waits (DependencyUnavailable)
            **datastore_env(s3proxy, postgres),
        },
    ).start()
    yield services
    services.stop()


def portfolio(configs: dict[str, Any], with_frame: bool) -> dict[str, Any]:
    rows = [
        {"initiative_id": name, "cost_to_scale": 10.0, "measure_config": config}
        for name, config in configs.items()
    ]
    if with_frame:
        params = configs["file"]["MEASUREMENT"]["PARAMS"]
        rows.append(
            {
                "initiative_id": "frame",
                "cost_to_scale": 10.0,
                "data": sales(11),
                "scale_data": sales(12),
                "model": "experiment",
                **params,
            }
        )
    return api.portfolio(rows, budget=100.0, seed=3)


async def test_the_same_portfolio_from_every_source_embedded_and_on_kafka(
    bus: Bus,
    schema_registry_url: str,
    data_dir: Path,
    s3_env: S3Proxy,
    sql_env: Postgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(data_dir)
    configs = same_data_everywhere(data_dir, sql_env.url, "pipeline")
    embedded = run_embedded(portfolio(configs, with_frame=True), run_id="r", progress=False)
    actual = {r["initiative_id"]: r["actual_return"] for r in embedded["reports"]}
    assert set(actual) == {"file", "s3", "sql", "frame"} and len(set(actual.values())) == 1

    # The DataFrames are staged once as Parquet in the services' data root.
    staged = api.stage(portfolio(configs, with_frame=True), data_dir / api.STAGING_FOLDER)
    shared = load_manifest(staged, data_dir)
    on_kafka = await run_on_kafka(bus, shared, "sources-run")
    assert on_kafka["status"] == "completed"
    assert {r["initiative_id"]: r["actual_return"] for r in on_kafka["reports"]} == actual

    # One call from Python: stage, check, publish, wait (the same DataFrames, same names).
    via_api = api.run(
        portfolio(configs, with_frame=True),
        on="kafka",
        bootstrap=bus.bootstrap,
        registry=schema_registry_url,
        prefix=bus.prefix,
        data_root=data_dir,
    )
    assert outcome(via_api) == outcome(on_kafka)
    assert outcome(on_kafka) == outcome(run_embedded(shared, run_id="sources-run", progress=False))


async def test_s3_and_postgres_outages_are_waited_out_on_kafka(
    bus: Bus, stack: ServiceProcesses, data_dir: Path, s3_env: S3Proxy, sql_env: Postgres
) -> None:
    configs = same_data_everywhere(data_dir, sql_env.url, "outage")
    manifest = load_manifest(portfolio({k: configs[k] for k in ("s3", "sql")}, False), data_dir)
    s3_env.stop()
    sql_env.stop()
    try:
        running = asyncio.create_task(run_on_kafka(bus, manifest, "outage-run"))
        await asyncio.sleep(8)  # the measure replicas back off meanwhile
        assert not running.done()
    finally:
        s3_env.start()
        sql_env.start()
    completed = await running
    assert completed["status"] == "completed" and completed["failures"] == []
    assert {r["initiative_id"] for r in completed["reports"]} == {"s3", "sql"}
    dlq = f"{stack.prefix}measure.requested.v1.dlq"
    assert await _message_count(bus.bootstrap, dlq) == 0
    logs = "".join(path.read_text() for path in stack.log_dir.glob("measure-*.log"))
    assert "dependency_unavailable" in logs
    assert s3_env.secret_key not in logs and sql_env.password not in logs

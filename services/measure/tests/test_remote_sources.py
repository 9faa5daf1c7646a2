"""Sources on other machines against real servers the tests start: S3Proxy and PostgreSQL.

The same data in a file, in S3 and in PostgreSQL give identical estimates; a missing
object, table or column fails at once with one line; an outage mid-run is waited out.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from impact_contracts import ConfigError, DependencyUnavailable
from impact_measure import Measure
from impact_measure.sources.s3 import s3_client
from impact_measure.sources.sql import engine_for

from tests.support.datastores import BUCKET, SQL_URL_ENV

from .datasets import retail

PARAMS = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x"]}


def config(source_type: str, **source: Any) -> dict[str, Any]:
    return {
        "DATA": {"SOURCE": {"type": source_type, "CONFIG": source}},
        "MEASUREMENT": {"MODEL": "experiment", "PARAMS": PARAMS},
    }


def estimate(measure_config: dict[str, Any]) -> dict[str, Any]:
    event = {"initiative_id": "i", "measure_config": measure_config, "seed": 1}
    return Measure(cache=False).execute(event)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return retail(seed=5, confounded=False, n=400)


def put_object(key: str, data: bytes) -> str:
    s3_client().put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def write_table(url: str, name: str, frame: pd.DataFrame) -> None:
    with engine_for(url).begin() as connection:
        frame.to_sql(name, connection, if_exists="replace", index=False)


def test_file_s3_and_sql_give_identical_estimates(
    frame: pd.DataFrame, tmp_path: Path, s3_env: Any, sql_env: Any
) -> None:
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    write_table(sql_env.url, "sales", frame)
    results = [
        estimate(config("file", path=str(path))),
        estimate(config("s3", url=put_object("sales.csv", path.read_bytes()))),
        estimate(config("s3", url=put_object("sales.parquet", parquet.getvalue()))),
        estimate(config("sql", url_env=SQL_URL_ENV, table="sales")),
        estimate(config("sql", url_env=SQL_URL_ENV, query="SELECT y, t, x FROM sales")),
    ]
    effects = {(r["effect_estimate"], r["ci_lower"], r["ci_upper"]) for r in results}
    assert len(effects) == 1
    assert [r["diagnostics"]["source"] for r in results] == ["file", "s3", "s3", "sql", "sql"]


@pytest.mark.parametrize(
    ("measure_config", "message"),
    [
        (
            config("s3", url=f"s3://{BUCKET}/missing.csv"),
            f"DATA.SOURCE.CONFIG.url: cannot read s3://{BUCKET}/missing.csv: NoSuchKey "
            "(The specified key does not exist.)",
        ),
        (
            config("s3", url="s3://no-such-bucket/sales.csv"),
            "DATA.SOURCE.CONFIG.url: cannot read s3://no-such-bucket/sales.csv: NoSuchBucket",
        ),
        (
            config("sql", url_env=SQL_URL_ENV, table="nope"),
            "DATA.SOURCE.CONFIG.table: cannot read sql:nope: Table nope not found",
        ),
        (
            config("sql", url_env=SQL_URL_ENV, query="SELECT nope FROM sales"),
            'DATA.SOURCE.CONFIG.query: cannot read sql:query: column "nope" does not exist',
        ),
        (
            config("sql", url_env="UNSET_URL", table="sales"),
            "DATA.SOURCE.CONFIG.url_env: UNSET_URL is not set in the services' environment",
        ),
        (
            config("sql", url_env=SQL_URL_ENV, table="sales", password="hunter2"),
            "DATA.SOURCE.CONFIG.password: credentials must not be in a manifest",
        ),
    ],
)
def test_permanent_errors_fail_at_once_with_one_line(
    frame: pd.DataFrame,
    s3_env: Any,
    sql_env: Any,
    measure_config: dict[str, Any],
    message: str,
) -> None:
    write_table(sql_env.url, "sales", frame)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        estimate(measure_config)
    assert time.monotonic() - started < 10
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert sql_env.password not in str(caught.value)


def test_a_bad_column_names_the_source(frame: pd.DataFrame, s3_env: Any) -> None:
    url = put_object("bad-column.csv", frame.to_csv(index=False).encode())
    bad = config("s3", url=url)
    bad["MEASUREMENT"]["PARAMS"] = {**PARAMS, "outcome_column": "revenue"}
    with pytest.raises(ConfigError, match=rf"^{url}: MEASUREMENT.PARAMS.outcome_column"):
        estimate(bad)


def measure_during_outage(stop: Any, start: Any, measure_config: dict[str, Any]) -> dict[str, Any]:
    """Stop the server, measure in a thread, start the server 3 s later: the result."""
    stop()
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(estimate(measure_config))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    try:
        worker.start()
        time.sleep(3)
        assert worker.is_alive(), errors
    finally:
        start()
    worker.join(timeout=120)
    assert not errors and len(results) == 1
    return results[0]


def test_an_s3_outage_is_waited_out(frame: pd.DataFrame, s3_env: Any) -> None:
    url = put_object("outage.csv", frame.to_csv(index=False).encode())
    result = measure_during_outage(s3_env.stop, s3_env.start, config("s3", url=url))
    assert result["effect_estimate"] == estimate(config("s3", url=url))["effect_estimate"]


def test_a_postgres_outage_is_waited_out(frame: pd.DataFrame, sql_env: Any) -> None:
    write_table(sql_env.url, "sales", frame)
    measure_config = config("sql", url_env=SQL_URL_ENV, table="sales")
    result = measure_during_outage(sql_env.stop, sql_env.start, measure_config)
    assert result["sample_size"] == len(frame)


def test_a_longer_outage_is_reported_as_a_dependency_the_runtime_waits_for(
    s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impact_runtime.outage import dependency_down

    monkeypatch.setenv("IMPACT_SOURCE_WAIT_S", "0.5")
    monkeypatch.setenv("IMPACT_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    with pytest.raises(DependencyUnavailable) as caught:
        estimate(config("s3", url=f"s3://{BUCKET}/sales.csv"))
    assert dependency_down(caught.value) == "s3"
    assert str(caught.value).startswith(f"s3://{BUCKET}/sales.csv: s3 unreachable: ")


def test_a_wrong_password_fails_at_once_without_showing_it(
    sql_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = sql_env.url.replace(sql_env.password, "not-the-password")
    monkeypatch.setenv("WRONG_URL", wrong)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        estimate(config("sql", url_env="WRONG_URL", table="sales"))
    assert time.monotonic() - started < 10
    assert "password authentication failed" in str(caught.value)
    assert "not-the-password" not in str(caught.value)


def test_a_wrong_s3_secret_fails_at_once_without_showing_it(
    frame: pd.DataFrame, s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = put_object("secret.csv", frame.to_csv(index=False).encode())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(ConfigError, match=r"^DATA\.SOURCE\.CONFIG\.url: cannot read ") as caught:
        estimate(config("s3", url=url))
    assert "not-the-secret" not in str(caught.value)
    assert s3_env.secret_key not in str(caught.value)


def test_credentials_can_come_from_secret_files(
    frame: pd.DataFrame,
    s3_env: Any,
    sql_env: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = put_object("from-files.csv", frame.to_csv(index=False).encode())
    write_table(sql_env.url, "sales", frame)
    for name, value in (
        ("AWS_SECRET_ACCESS_KEY", s3_env.secret_key),
        ("AWS_ACCESS_KEY_ID", s3_env.access_key),
        ("WAREHOUSE_URL", sql_env.url),
    ):
        (tmp_path / name).write_text(value + "\n")
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
    from_s3 = estimate(config("s3", url=url))
    from_sql = estimate(config("sql", url_env="WAREHOUSE_URL", table="sales"))
    assert from_s3["effect_estimate"] == from_sql["effect_estimate"]

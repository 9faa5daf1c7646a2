"""Real data stores started by the tests: S3Proxy (``s3proxy``) and PostgreSQL
(``postgres``), each on a free loopback port in a temp dir, stopped at the end of the
session (``scripts/local_datastores.py``). ``s3_env``/``sql_env`` point the sources at them
through the environment, as an operator would."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.local_datastores import Postgres, S3Proxy, postgres_bin
from tests.support.kafka import unused_port

BUCKET = "impact-data"
SQL_URL_ENV = "WAREHOUSE_URL"


@pytest.fixture(scope="session")
def s3proxy() -> Iterator[S3Proxy]:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("S3Proxy needs java and mvn")
    directory = Path(tempfile.mkdtemp(prefix="s3proxy-"))
    server = S3Proxy(
        directory, unused_port(), f"AK{secrets.token_hex(8)}", f"SK{secrets.token_hex(16)}"
    )
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            _point_at(patch, server)
            from impact_measure.sources.s3 import s3_client

            s3_client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _point_at(patch: pytest.MonkeyPatch, server: S3Proxy) -> None:
    patch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    patch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    patch.setenv("IMPACT_S3_ENDPOINT_URL", server.endpoint)
    patch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def s3_env(s3proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch) -> S3Proxy:
    """The S3 source reads from the session's S3Proxy (credentials in the environment)."""
    _point_at(monkeypatch, s3proxy)
    return s3proxy


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    directory = Path(tempfile.mkdtemp(prefix="postgres-"))
    server = Postgres(directory, unused_port(), "impact", f"pw{secrets.token_hex(12)}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def sql_env(postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Postgres:
    """``$WAREHOUSE_URL`` holds the session's PostgreSQL URL (with its password)."""
    monkeypatch.setenv(SQL_URL_ENV, postgres.url)
    return postgres

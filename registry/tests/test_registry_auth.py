"""Optional HTTP basic auth: off by default, every request checked when users are set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from impact_registry.auth import USERS_ENV, parse_users
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_schemas.registry import RegistryClient, RegistryError
from impact_schemas.registry.client import AUTH_ENV

SCHEMA = {"type": "record", "name": "Auth", "fields": [{"name": "id", "type": "string"}]}


def test_users_parse_and_bad_entries_name_the_variable() -> None:
    assert parse_users("alice:s3cret, bob:p:w") == {"alice": "s3cret", "bob": "p:w"}
    assert parse_users(None) == {} == parse_users("")
    with pytest.raises(ValueError, match=f"{USERS_ENV}: expected user:password, got 'alice'"):
        parse_users("alice")


async def _client(**kwargs: Any) -> RegistryClient:
    app = create_app(MemorySchemaLog(), users={"alice": "s3cret"})
    await app.state.registry.start()
    return RegistryClient("http://registry.test", transport=httpx.ASGITransport(app), **kwargs)


@pytest.mark.parametrize("credentials", [None, ("alice", "wrong"), ("mallory", "s3cret")])
async def test_requests_without_valid_credentials_get_401(
    credentials: tuple[str, str] | None,
) -> None:
    async with await _client(basic_auth=credentials) as client:
        with pytest.raises(RegistryError) as caught:
            await client.get_subjects()
    error = caught.value
    assert (error.http_status, error.error_code, error.message) == (401, 401, "Unauthorized")
    assert error.retriable is False


async def test_valid_credentials_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with await _client(basic_auth=("alice", "s3cret")) as client:
        assert await client.register("s", SCHEMA) == 1
    monkeypatch.setenv(AUTH_ENV, "alice:s3cret")
    async with await _client() as client:
        assert await client.get_subjects() == []


@pytest.fixture
def server_with_auth(
    external_registry: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Our server process with ``IMPACT_REGISTRY_BASIC_AUTH=alice:s3cret``; yields its URL."""
    if external_registry:
        pytest.skip("starts our own server with auth on")
    bootstrap = str(request.getfixturevalue("kafka_bootstrap"))
    command = [sys.executable, "-m", "impact_registry", "--bootstrap", bootstrap]
    command += ["--port", "0", "--topic", f"_schemas-{uuid.uuid4().hex}"]
    env = {**os.environ, USERS_ENV: "alice:s3cret"}
    with (tmp_path / "registry.log").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()  # printed once it serves; "" if it died
        assert url.startswith("http://"), (tmp_path / "registry.log").read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.integration
async def test_the_server_process_checks_basic_auth(server_with_auth: str) -> None:
    async with httpx.AsyncClient(base_url=server_with_auth) as http:
        answer = await http.get("/subjects")
    assert answer.status_code == 401
    assert answer.json() == {"error_code": 401, "message": "Unauthorized"}
    assert answer.headers["www-authenticate"] == 'Basic realm="SchemaRegistry"'
    async with RegistryClient(server_with_auth, basic_auth=("alice", "s3cret")) as client:
        assert await client.register("s-value", SCHEMA) == 1

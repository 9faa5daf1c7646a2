"""Schema usages, types, modes, compatibility against all versions, and HTTP-level errors.

Run on the in-memory app and on the real registry over HTTP (``SCHEMA_REGISTRY_URL`` too).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_schemas.registry import RegistryClient, RegistryError
from impact_schemas.registry.client import CONTENT_TYPE


def schema(*fields: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "fields": [{"name": "id", "type": "string"}, *fields],
    }


REQUIRED_X = {"name": "x", "type": "string"}
OPTIONAL_Y = {"name": "y", "type": ["null", "string"], "default": None}


async def error_code(call: Any) -> int:
    with pytest.raises(RegistryError) as caught:
        await call
    return caught.value.error_code


async def test_schema_types_include_avro(client: RegistryClient) -> None:
    assert "AVRO" in await client.get_schema_types()


async def test_an_id_lists_the_subjects_and_versions_using_it(
    client: RegistryClient, subject: str
) -> None:
    shared = schema(name=f"U{uuid.uuid4().hex}")
    other = subject + "-other"
    schema_id = await client.register(subject, shared)
    assert await client.register(other, shared) == schema_id
    assert await client.get_id_versions(schema_id) == sorted([(subject, 1), (other, 1)])
    assert await client.get_id_subjects(schema_id) == sorted([subject, other])
    await client.delete_subject(other)
    assert await client.get_id_versions(schema_id) == [(subject, 1)]
    assert await client.get_id_subjects(schema_id) == [subject]
    assert await client.get_id_subjects(schema_id, deleted=True) == sorted([subject, other])
    assert await error_code(client.get_id_versions(2**31 - 7)) == 40403
    assert await error_code(client.get_id_subjects(2**31 - 7)) == 40403


async def test_compatibility_against_all_versions_follows_the_level(
    client: RegistryClient, subject: str
) -> None:
    name = f"C{uuid.uuid4().hex}"
    await client.set_config("NONE", subject)
    await client.register(subject, schema(name=name))
    await client.register(subject, schema(REQUIRED_X, name=name))
    await client.set_config("BACKWARD_TRANSITIVE", subject)
    candidate = schema(REQUIRED_X, OPTIONAL_Y, name=name)
    assert await client.check_compatibility(subject, candidate, "latest") == (True, [])
    compatible, reasons = await client.check_compatibility(subject, candidate)
    assert compatible is False and reasons
    await client.set_config("BACKWARD", subject)
    assert await client.check_compatibility(subject, candidate) == (True, [])


async def test_a_read_only_subject_refuses_writes(client: RegistryClient, subject: str) -> None:
    name = f"M{uuid.uuid4().hex}"
    await client.register(subject, schema(name=name))
    assert await error_code(client.get_mode(subject)) == 40409
    assert await client.set_mode("READONLY", subject) == "READONLY"
    assert await client.get_mode(subject) == "READONLY"
    assert await error_code(client.register(subject, schema(OPTIONAL_Y, name=name))) == 42205
    assert await error_code(client.delete_version(subject, 1)) == 42205
    assert await client.get_versions(subject) == [1]
    assert await client.delete_mode(subject) == "READONLY"
    assert await client.get_mode(subject, default_to_global=True) == await client.get_mode()
    assert await client.register(subject, schema(OPTIONAL_Y, name=name)) > 0


async def test_global_mode(memory_client: RegistryClient) -> None:
    assert await memory_client.get_mode() == "READWRITE"
    assert await memory_client.set_mode("READONLY") == "READONLY"
    assert await error_code(memory_client.register("s", schema(name="G"))) == 42205
    assert await error_code(memory_client.set_mode("IMPORT")) == 42204
    assert await memory_client.set_mode("READWRITE") == "READWRITE"
    assert await memory_client.register("s", schema(name="G")) == 1


@pytest_asyncio.fixture(params=["memory", pytest.param("server", marks=pytest.mark.integration)])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the in-memory app or on the real registry."""
    if request.param == "memory":
        app = create_app(MemorySchemaLog())
        await app.state.registry.start()
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(base_url="http://registry.test", transport=transport) as c:
            yield c
    else:
        url = request.getfixturevalue("schema_registry_url")
        async with httpx.AsyncClient(base_url=url) as c:
            yield c


def confluent_error(response: httpx.Response, status: int) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == status
    assert sorted(body) == ["error_code", "message"]
    assert body["message"]
    return dict(body)


async def test_a_wrong_content_type_is_415(http: httpx.AsyncClient, subject: str) -> None:
    body = '{"schema": "\\"string\\""}'
    wrong = await http.post(
        f"/subjects/{subject}/versions", content=body, headers={"Content-Type": "text/plain"}
    )
    assert confluent_error(wrong, 415)["error_code"] == 415
    right = await http.post(
        f"/subjects/{subject}/versions", content=body, headers={"Content-Type": CONTENT_TYPE}
    )
    assert right.status_code == 200 and right.json()["id"] > 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/route", 404),
        ("GET", "/schemas/ids/not-a-number", 404),
        ("DELETE", "/schemas/types", 405),
    ],
)
async def test_http_errors_have_confluent_bodies(
    http: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    body = confluent_error(await http.request(method, path), status)
    assert body["error_code"] == status

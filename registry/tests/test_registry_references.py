"""Schema references (Confluent): named types from another subject's version.

Run on the in-memory app and on the real registry over HTTP (``SCHEMA_REGISTRY_URL`` too).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_schemas.registry import RegistryClient, RegistryError, SchemaReference

from tests.support.registry_clients import served

NAMESPACE = "test.refs"


def address(*extra: dict[str, Any]) -> dict[str, Any]:
    fields = [{"name": "street", "type": "string"}, *extra]
    return {"type": "record", "name": "Address", "namespace": NAMESPACE, "fields": fields}


def person(*extra: dict[str, Any]) -> dict[str, Any]:
    fields = [
        {"name": "name", "type": "string"},
        {"name": "home", "type": f"{NAMESPACE}.Address"},
        *extra,
    ]
    return {"type": "record", "name": "Person", "namespace": NAMESPACE, "fields": fields}


OPTIONAL_ZIP = {"name": "zip", "type": ["null", "string"], "default": None}
REQUIRED_ZIP = {"name": "zip", "type": "string"}
OPTIONAL_AGE = {"name": "age", "type": ["null", "int"], "default": None}
REQUIRED_AGE = {"name": "age", "type": "int"}


async def error_code(call: Any) -> int:
    with pytest.raises(RegistryError) as caught:
        await call
    return caught.value.error_code


async def address_v1(client: RegistryClient, subject: str) -> tuple[str, SchemaReference]:
    """Address v1 under ``<subject>-address``: the subject and a reference to it."""
    addresses = subject + "-address"
    await client.set_config("NONE", addresses)
    await client.register(addresses, address())
    return addresses, SchemaReference(f"{NAMESPACE}.Address", addresses, 1)


async def address_v1_v2(
    client: RegistryClient, subject: str, zip_field: dict[str, Any], level: str
) -> tuple[SchemaReference, SchemaReference]:
    """References to address v1 and to v2 (v1 with ``zip_field``); ``subject`` at ``level``."""
    addresses, v1 = await address_v1(client, subject)
    await client.register(addresses, address(zip_field))
    await client.set_config(level, subject)
    return v1, SchemaReference(v1.name, addresses, 2)


async def test_a_schema_with_references_registers_and_returns_them(
    client: RegistryClient, subject: str
) -> None:
    _, reference = await address_v1(client, subject)
    schema_id = await client.register(subject, person(), (reference,))
    client.clear_cache()
    text, references = await client.get_schema(schema_id)
    assert (json.loads(text), references) == (person(), (reference,))
    registered = await client.get_version(subject, 1)
    assert (registered.id, registered.references) == (schema_id, (reference,))
    found = await client.lookup(subject, person(), (reference,))
    assert (found.id, found.version, found.references) == (schema_id, 1, (reference,))
    assert await client.register(subject, person(), (reference,)) == schema_id
    assert await client.get_versions(subject) == [1]


async def test_a_missing_reference_is_an_invalid_schema(
    client: RegistryClient, subject: str
) -> None:
    addresses, reference = await address_v1(client, subject)
    missing_version = SchemaReference(reference.name, addresses, 99)
    missing_subject = SchemaReference(reference.name, subject + "-nowhere", 1)
    for references in [(), (missing_version,), (missing_subject,)]:
        with pytest.raises(RegistryError) as caught:
            await client.register(subject, person(), references)
        assert (caught.value.http_status, caught.value.error_code) == (422, 42201)
    assert await error_code(client.get_versions(subject)) == 40401


async def test_the_same_text_with_other_references_is_another_schema(
    client: RegistryClient, subject: str
) -> None:
    v1, v2 = await address_v1_v2(client, subject, OPTIONAL_ZIP, "NONE")
    with_v1 = await client.register(subject, person(), (v1,))
    with_v2 = await client.register(subject, person(), (v2,))
    assert with_v1 != with_v2
    assert await client.get_versions(subject) == [1, 2]
    client.clear_cache()
    assert (await client.lookup(subject, person(), (v1,))).version == 1
    assert (await client.lookup(subject, person(), (v2,))).version == 2
    assert (await client.get_schema(with_v2))[1] == (v2,)


async def test_compatibility_is_checked_with_the_referenced_types(
    client: RegistryClient, subject: str
) -> None:
    v1, v2 = await address_v1_v2(client, subject, REQUIRED_ZIP, "FULL_TRANSITIVE")
    await client.register(subject, person(), (v1,))
    assert await client.check_compatibility(subject, person(OPTIONAL_AGE), references=(v1,)) == (
        True,
        [],
    )
    compatible, reasons = await client.check_compatibility(
        subject, person(REQUIRED_AGE), references=(v1,)
    )
    assert compatible is False and reasons
    # the same Person text, but its Address now has a required zip: old data lacks it
    compatible, reasons = await client.check_compatibility(subject, person(), references=(v2,))
    assert compatible is False
    assert "zip" in " ".join(reasons)
    with pytest.raises(RegistryError) as caught:
        await client.register(subject, person(), (v2,))
    assert caught.value.error_code == 409
    assert await client.register(subject, person(OPTIONAL_AGE), (v1,)) > 0
    assert await client.get_versions(subject) == [1, 2]


async def test_a_referenced_version_cannot_be_deleted_before_its_referrers(
    client: RegistryClient, subject: str
) -> None:
    addresses, reference = await address_v1(client, subject)
    schema_id = await client.register(subject, person(), (reference,))
    assert await client.get_referenced_by(addresses, 1) == [schema_id]
    assert await client.get_referenced_by(addresses, "latest") == [schema_id]
    assert await error_code(client.delete_version(addresses, 1)) == 42206
    assert await error_code(client.delete_subject(addresses)) == 42206
    assert await client.get_versions(addresses) == [1]
    assert await client.delete_subject(subject) == [1]
    assert await client.get_referenced_by(addresses, 1) == []
    assert await client.delete_version(addresses, 1) == 1
    # the soft-deleted referrer's id still resolves, references included
    client.clear_cache()
    assert (await client.get_schema(schema_id))[1] == (reference,)
    assert [json.loads(t) for t in await client.referenced_schemas((reference,))] == [address()]


async def test_a_referenced_version_is_never_permanently_deleted(
    client: RegistryClient, subject: str, external_registry: bool
) -> None:
    if external_registry:
        pytest.skip("decision 0051: Confluent allows it once the referrers are soft-deleted")
    addresses, reference = await address_v1(client, subject)
    await client.register(subject, person(), (reference,))
    await client.delete_subject(subject)
    await client.delete_subject(addresses)
    assert await error_code(client.delete_version(addresses, 1, permanent=True)) == 42206
    assert await error_code(client.delete_subject(addresses, permanent=True)) == 42206
    assert await client.get_versions(addresses, deleted=True) == [1]


async def test_references_survive_a_restart_from_the_log() -> None:
    log = MemorySchemaLog()
    app = create_app(log)
    await app.state.registry.start()
    transport = httpx.ASGITransport(app)
    async with RegistryClient("http://registry.test", transport=transport) as client:
        _, reference = await address_v1(client, "people")
        schema_id = await client.register("people", person(), (reference,))
    id_records = [v for k, v in log.records if k["keytype"] == "ID"]
    assert id_records[-1] == {
        "id": schema_id,
        "schema": json.dumps(person(), sort_keys=True, separators=(",", ":")),
        "references": [reference.as_json()],
    }
    restarted = create_app(log)
    await restarted.state.registry.start()
    transport = httpx.ASGITransport(restarted)
    async with RegistryClient("http://registry.test", transport=transport) as client:
        assert (await client.get_schema(schema_id))[1] == (reference,)
        assert (await client.lookup("people", person(), (reference,))).id == schema_id
        assert await client.get_referenced_by("people-address", 1) == [schema_id]
        assert await client.register("others", person(), (reference,)) == schema_id


async def test_invalid_references_in_the_body_are_invalid_schemas(
    memory_client: RegistryClient,
) -> None:
    http = memory_client._transport.http
    body = {"schema": json.dumps(address()), "references": [{"name": "x", "subject": "s"}]}
    answer = await http.post("/subjects/s/versions", content=json.dumps(body))
    assert answer.status_code == 422
    assert answer.json()["error_code"] == 42201
    assert "'version' must be a version number >= 1" in answer.json()["message"]


@pytest.mark.integration
async def test_references_survive_a_restart_of_the_server(
    own_registry: Callable[[str], Any],
) -> None:
    topic = f"_schemas-{uuid.uuid4().hex}"
    async with served(own_registry(topic)) as client:
        _, reference = await address_v1(client, "people")
        schema_id = await client.register("people", person(), (reference,))
    async with served(own_registry(topic)) as client:
        assert (await client.get_schema(schema_id))[1] == (reference,)
        assert (await client.get_version("people", 1)).references == (reference,)
        assert await client.get_referenced_by("people-address", 1) == [schema_id]
        assert await error_code(client.delete_version("people-address", 1)) == 42206

"""Registry API behaviour, run on the in-memory app and on the real registry over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from impact_schemas.catalog import load_schema
from impact_schemas.registry import (
    ERROR_CODES,
    IncompatibleSchema,
    RegistryClient,
    RegistryError,
    SchemaReference,
)
from impact_schemas.registry.errors import UNKNOWN_CODE


def schema(*extra: dict[str, Any], name: str = "Thing") -> dict[str, Any]:
    fields = [{"name": "id", "type": "string"}, *extra]
    return {"type": "record", "name": name, "namespace": "test", "fields": fields}


OPTIONAL_NOTE = {"name": "note", "type": ["null", "string"], "default": None}
REQUIRED_NOTE = {"name": "note", "type": "string"}


async def strict(client: RegistryClient, subject: str) -> None:
    """Pin the subject to our policy level (external registries default to BACKWARD)."""
    assert await client.set_config("FULL_TRANSITIVE", subject) == "FULL_TRANSITIVE"


async def test_register_is_idempotent_and_ids_are_global(
    client: RegistryClient, subject: str
) -> None:
    unique = schema(name=f"T{uuid.uuid4().hex}")
    first = await client.register(subject, unique)
    client.clear_cache()
    again = await client.register(subject, json.dumps(unique, indent=4))
    other_subject = await client.register(subject + "-other", unique)
    assert first == again == other_subject
    assert await client.get_versions(subject) == [1]
    assert json.loads(await client.get_by_id(first)) == unique


async def test_compatible_minor_becomes_version_two(client: RegistryClient, subject: str) -> None:
    await strict(client, subject)
    v1 = schema()
    v2 = schema(OPTIONAL_NOTE)
    id1 = await client.register(subject, v1)
    assert await client.check_compatibility(subject, v2) == (True, [])
    id2 = await client.register(subject, v2)
    assert id2 != id1
    assert await client.get_versions(subject) == [1, 2]
    latest = await client.get_version(subject, "latest")
    assert (latest.subject, latest.version, latest.id) == (subject, 2, id2)
    assert json.loads(latest.schema) == v2
    found = await client.lookup(subject, v1)
    assert (found.version, found.id) == (1, id1)
    assert subject in await client.get_subjects()


async def test_incompatible_schema_is_rejected_with_the_reason(
    client: RegistryClient, subject: str
) -> None:
    await strict(client, subject)
    await client.register(subject, schema())
    compatible, messages = await client.check_compatibility(subject, schema(REQUIRED_NOTE))
    assert compatible is False
    assert "reader_field_missing_default_value" in " ".join(messages).lower()
    with pytest.raises(IncompatibleSchema) as caught:
        await client.register(subject, schema(REQUIRED_NOTE))
    assert caught.value.http_status == 409
    assert caught.value.error_code == 409
    assert "reader_field_missing_default_value" in caught.value.message.lower()
    assert await client.get_versions(subject) == [1]


async def test_config_levels(client: RegistryClient, subject: str) -> None:
    await client.set_config("BACKWARD", subject)
    assert await client.get_config(subject) == "BACKWARD"
    # BACKWARD (new reads old) accepts dropping a required field; FULL would not
    await client.register(subject, schema(REQUIRED_NOTE))
    await client.register(subject, schema())
    assert await client.get_versions(subject) == [1, 2]


async def test_default_global_level_is_full_transitive(memory_client: RegistryClient) -> None:
    assert await memory_client.get_config() == "FULL_TRANSITIVE"
    assert await memory_client.get_config("never-configured") == "FULL_TRANSITIVE"
    assert await memory_client.set_config("FORWARD") == "FORWARD"
    assert await memory_client.get_config("never-configured") == "FORWARD"


async def test_shipped_schemas_register(client: RegistryClient, topic_prefix: str) -> None:
    subject = f"{topic_prefix}run.status.v1-value"
    schema_id = await client.register(subject, load_schema("run_status"))
    assert json.loads(await client.get_by_id(schema_id))["version"] == "1.0"


Trigger = Callable[[RegistryClient, str], Awaitable[object]]


async def _version_not_found(client: RegistryClient, subject: str) -> object:
    await client.register(subject, schema())
    return await client.get_version(subject, 99)


async def _incompatible(client: RegistryClient, subject: str) -> object:
    await strict(client, subject)
    await client.register(subject, schema())
    return await client.register(subject, schema(REQUIRED_NOTE))


async def _registered(client: RegistryClient, subject: str) -> RegistryClient:
    await client.register(subject, schema())
    return client


async def _subject_soft_deleted(client: RegistryClient, subject: str) -> object:
    await (await _registered(client, subject)).delete_subject(subject)
    return await client.delete_subject(subject)


async def _subject_not_soft_deleted(client: RegistryClient, subject: str) -> object:
    return await (await _registered(client, subject)).delete_subject(subject, permanent=True)


async def _version_not_soft_deleted(client: RegistryClient, subject: str) -> object:
    await _registered(client, subject)
    return await client.delete_version(subject, 1, permanent=True)


async def _version_soft_deleted(client: RegistryClient, subject: str) -> object:
    await (await _registered(client, subject)).delete_version(subject, 1)
    return await client.delete_version(subject, 1)


async def _readonly(client: RegistryClient, subject: str) -> object:
    await client.set_mode("READONLY", subject)
    return await client.register(subject, schema())


async def _referenced(client: RegistryClient, subject: str) -> object:
    base = schema(name=f"Base{uuid.uuid4().hex}")
    await client.register(subject + "-base", base)
    reference = SchemaReference(f"test.{base['name']}", subject + "-base", 1)
    user = schema({"name": "base", "type": reference.name}, name="User")
    await client.register(subject, user, (reference,))
    return await client.delete_version(subject + "-base", 1)


TRIGGERS: dict[int, tuple[int, Trigger]] = {
    40401: (404, lambda c, s: c.get_versions(s)),
    40402: (404, _version_not_found),
    40403: (404, lambda c, s: c.get_by_id(2**31 - 7)),
    40404: (404, _subject_soft_deleted),
    40405: (404, _subject_not_soft_deleted),
    40406: (404, _version_soft_deleted),
    40407: (404, _version_not_soft_deleted),
    40408: (404, lambda c, s: c.get_config(s, default_to_global=False)),
    40409: (404, lambda c, s: c.get_mode(s)),
    409: (409, _incompatible),
    42201: (422, lambda c, s: c.register(s, '{"type": "record", "name": "NoFields"}')),
    42202: (422, lambda c, s: c.get_version(s, "abc")),
    42203: (422, lambda c, s: c.set_config("SIDEWAYS", s)),
    42204: (422, lambda c, s: c.set_mode("SIDEWAYS", s)),
    42205: (422, _readonly),
    42206: (422, _referenced),
}


def test_the_trigger_table_covers_the_shared_code_table() -> None:
    assert sorted(TRIGGERS) == sorted(ERROR_CODES)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
async def test_error_code_table(client: RegistryClient, subject: str, code: int) -> None:
    status, trigger = TRIGGERS[code]
    with pytest.raises(RegistryError) as caught:
        await trigger(client, subject)
    error = caught.value
    assert type(error) is ERROR_CODES[code]
    assert (error.http_status, error.error_code) == (status, code)
    assert error.retriable is False
    assert error.message


def test_for_code_falls_back_to_a_plain_registry_error() -> None:
    error = RegistryError.for_code(50001, "store down", 500)
    assert type(error) is RegistryError
    assert (error.error_code, error.http_status, error.retriable) == (50001, 500, True)
    assert RegistryError("x").error_code == UNKNOWN_CODE
    assert str(ERROR_CODES[40401]("Subject 'x' not found.")) == (
        "Subject 'x' not found. (HTTP 404, error_code 40401)"
    )

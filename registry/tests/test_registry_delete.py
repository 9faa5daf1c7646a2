"""Soft and permanent deletes, ``deleted=true`` listings and subject levels (Confluent API).

Run on the in-memory app and on the real registry over HTTP (``SCHEMA_REGISTRY_URL`` too).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from impact_schemas.registry import RegistryClient, RegistryError


def schema(*optional: str, name: str = "Deleted") -> dict[str, Any]:
    fields = [{"name": n, "type": ["null", "string"], "default": None} for n in optional]
    return {"type": "record", "name": name, "fields": [{"name": "id", "type": "string"}, *fields]}


async def error_code(call: Any) -> int:
    with pytest.raises(RegistryError) as caught:
        await call
    return caught.value.error_code


async def three_versions(client: RegistryClient, subject: str) -> list[int]:
    await client.set_config("FULL_TRANSITIVE", subject)
    name = f"D{uuid.uuid4().hex}"
    return [await client.register(subject, schema(*"xy"[:n], name=name)) for n in range(3)]


async def test_soft_delete_of_a_version_hides_it_but_keeps_its_number(
    client: RegistryClient, subject: str
) -> None:
    ids = await three_versions(client, subject)
    assert await client.delete_version(subject, 3) == 3
    assert await client.get_versions(subject) == [1, 2]
    assert await client.get_versions(subject, deleted=True) == [1, 2, 3]
    assert (await client.get_version(subject, "latest")).version == 2
    assert await error_code(client.get_version(subject, 3)) == 40402
    hidden = await client.get_version(subject, 3, deleted=True)
    assert (hidden.version, hidden.id) == (3, ids[2])
    assert await error_code(client.lookup(subject, json.loads(hidden.schema))) == 40403
    assert (await client.lookup(subject, json.loads(hidden.schema), deleted=True)).version == 3
    client.clear_cache()
    assert json.loads(await client.get_by_id(ids[2])) == json.loads(hidden.schema)
    # registering the same schema again makes a new version with the same id
    assert await client.register(subject, json.loads(hidden.schema)) == ids[2]
    assert await client.get_versions(subject, deleted=True) == [1, 2, 3, 4]


async def test_permanent_delete_of_a_version_needs_a_soft_delete_first(
    client: RegistryClient, subject: str
) -> None:
    await three_versions(client, subject)
    assert await error_code(client.delete_version(subject, 2, permanent=True)) == 40407
    assert await client.delete_version(subject, 2) == 2
    assert await error_code(client.delete_version(subject, 2)) == 40406
    assert await client.delete_version(subject, 2, permanent=True) == 2
    assert await client.get_versions(subject, deleted=True) == [1, 3]
    assert await error_code(client.get_version(subject, 2, deleted=True)) == 40402
    assert await error_code(client.delete_version(subject, 99)) == 40402
    assert await error_code(client.delete_version(subject + "-none", 1)) == 40401


async def test_soft_then_permanent_delete_of_a_subject(
    client: RegistryClient, subject: str
) -> None:
    await three_versions(client, subject)
    assert await error_code(client.delete_subject(subject, permanent=True)) == 40405
    assert await client.delete_subject(subject) == [1, 2, 3]
    assert subject not in await client.get_subjects()
    assert subject in await client.get_subjects(deleted=True)
    assert await error_code(client.get_versions(subject)) == 40401
    assert await client.get_versions(subject, deleted=True) == [1, 2, 3]
    assert await error_code(client.delete_subject(subject)) == 40404
    assert await client.get_config(subject, default_to_global=False) == "FULL_TRANSITIVE"
    assert await client.delete_subject(subject, permanent=True) == [1, 2, 3]
    assert subject not in await client.get_subjects(deleted=True)
    assert await error_code(client.get_versions(subject, deleted=True)) == 40401
    assert await error_code(client.get_config(subject, default_to_global=False)) == 40408
    assert await error_code(client.delete_subject(subject)) == 40401


async def test_subject_level_is_reported_only_when_set_unless_default_to_global(
    client: RegistryClient, subject: str
) -> None:
    await client.register(subject, schema(name=f"L{uuid.uuid4().hex}"))
    global_level = await client.get_config()
    assert await error_code(client.get_config(subject, default_to_global=False)) == 40408
    assert await client.get_config(subject) == global_level
    assert await client.set_config("NONE", subject) == "NONE"
    assert await client.get_config(subject, default_to_global=False) == "NONE"
    assert await client.delete_config(subject) == "NONE"
    assert await error_code(client.get_config(subject, default_to_global=False)) == 40408
    assert await client.get_config(subject) == global_level
    assert await error_code(client.delete_config(subject + "-none")) == 40401

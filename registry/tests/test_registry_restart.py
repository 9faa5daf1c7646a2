"""Our registry server keeps every id, version and config across a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.registry_clients import served

pytestmark = pytest.mark.integration


def schema(*names: str) -> dict[str, Any]:
    fields = [{"name": n, "type": ["null", "string"], "default": None} for n in names]
    return {
        "type": "record",
        "name": "Restart",
        "fields": [{"name": "id", "type": "string"}, *fields],
    }


async def test_restart_keeps_ids_versions_and_config(own_registry: Callable[[str], Any]) -> None:
    topic = f"_schemas-{uuid.uuid4().hex}"
    first = own_registry(topic)
    async with served(first) as client:
        ids_a = [await client.register("a-value", schema(*"xyz"[:n])) for n in range(3)]
        id_b = await client.register("b-value", schema("x"))
        await client.set_config("NONE", "b-value")
        await client.set_config("BACKWARD")

    second = own_registry(topic)
    assert second.url != "" and second.process.pid != first.process.pid
    async with served(second) as client:
        assert await client.get_subjects() == ["a-value", "b-value"]
        assert await client.get_versions("a-value") == [1, 2, 3]
        assert [(await client.get_version("a-value", v)).id for v in (1, 2, 3)] == ids_a
        assert (await client.lookup("b-value", schema("x"))).id == id_b == ids_a[1]
        assert await client.get_config("b-value") == "NONE"
        assert await client.get_config() == "BACKWARD"
        assert await client.register("a-value", schema("x", "y")) == ids_a[2]
        new_id = await client.register("b-value", schema("q"))
        assert new_id == max(ids_a) + 1

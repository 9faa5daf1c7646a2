"""A client given several registry URLs fails over; with one it raises at once (0065).

The in-memory app stands behind ``http://live``; ``http://dead`` refuses connections (an
httpx transport raising ``ConnectError``, as a closed port does). The integration test uses
a real closed port and the session's registry.
"""

from __future__ import annotations

import httpx
import pytest
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_schemas.registry import RegistryClient, RegistryError, RegistryUnavailable

from tests.support.kafka import unused_port

SCHEMA = {"type": "record", "name": "F", "fields": [{"name": "id", "type": "string"}]}


class Hosts(httpx.AsyncBaseTransport):
    """Routes by host: ``live`` to the app, ``busy`` answers 503, anything else refuses."""

    def __init__(self, app: httpx.AsyncBaseTransport) -> None:
        self.app = app
        self.asked: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.host)
        if request.url.host == "live":
            return await self.app.handle_async_request(request)
        if request.url.host == "busy":
            body = {"error_code": 50004, "message": "no writer yet"}
            return httpx.Response(500, json=body)
        raise httpx.ConnectError("connection refused", request=request)


async def hosts() -> Hosts:
    app = create_app(MemorySchemaLog())
    await app.state.registry.start()
    return Hosts(httpx.ASGITransport(app))


async def test_a_dead_url_is_skipped_and_the_live_one_kept() -> None:
    transport = await hosts()
    async with RegistryClient("http://dead, http://live/", transport=transport) as client:
        assert client.urls == ("http://dead", "http://live")
        assert await client.register("f-value", SCHEMA) == 1
        assert await client.get_versions("f-value") == [1]
    assert transport.asked == ["dead", "live", "live"]  # the one that answered is kept


async def test_5xx_answers_fail_over_too_and_4xx_do_not() -> None:
    transport = await hosts()
    async with RegistryClient("http://busy,http://live", transport=transport) as client:
        assert await client.register("f-value", SCHEMA) == 1
        with pytest.raises(RegistryError) as caught:
            await client.get_versions("nothing-here")
    assert caught.value.error_code == 40401
    assert transport.asked == ["busy", "live", "live"]


async def test_every_url_down_raises_once_the_failover_time_is_spent() -> None:
    transport = await hosts()
    urls = "http://dead-1,http://dead-2"
    async with RegistryClient(urls, transport=transport, failover_timeout_s=0.5) as client:
        with pytest.raises(RegistryUnavailable, match="unreachable"):
            await client.get_subjects()
    assert len(transport.asked) >= 4  # both, several rounds with backoff
    assert set(transport.asked) == {"dead-1", "dead-2"}


async def test_one_url_is_not_retried() -> None:
    """The runtime waits an outage out itself (readyz false, metrics): no hidden retries."""
    transport = await hosts()
    async with RegistryClient("http://dead", transport=transport) as client:
        with pytest.raises(RegistryUnavailable):
            await client.get_subjects()
    assert transport.asked == ["dead"]


@pytest.mark.integration
async def test_a_closed_port_first_in_the_list(schema_registry_url: str) -> None:
    dead = f"http://127.0.0.1:{unused_port()}"
    async with RegistryClient(f"{dead},{schema_registry_url}") as client:
        schema_id = await client.register("failover-value", SCHEMA)
        client.clear_cache()
        assert await client.get_by_id(schema_id)

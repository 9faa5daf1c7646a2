"""Several registry instances on one ``_schemas`` topic: one elected writer (decision 0065).

Real server processes over HTTP on the session's broker: exactly one writer, writes through
a follower, the writer SIGKILLed under a client that knows both URLs, and a paused (SIGSTOP)
writer that resumes after another was elected and must not write.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from impact_kafka.config import KafkaClientSettings
from impact_kafka.read import read_to_end
from impact_registry.storage import DEFAULT_SESSION_TIMEOUT_MS
from impact_schemas.registry import RegistryClient

from tests.support.registry import RegistryServer, writer_of

pytestmark = pytest.mark.integration
#: The writer's death is noticed after the session timeout; then a rebalance, the
#: producer's fencing and catching up with the log: a few seconds on a loaded machine.
FAILOVER_BOUND_S = DEFAULT_SESSION_TIMEOUT_MS / 1000 + 6.0


def schema(name: str) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": "id", "type": "string"}]}


@dataclass
class Pair:
    """Two instances of one registry on ``topic``: the elected ``writer`` and the other."""

    topic: str
    writer: RegistryServer
    follower: RegistryServer

    @property
    def servers(self) -> list[RegistryServer]:
        return [self.writer, self.follower]


@pytest.fixture
def start_pair(own_registry: Callable[[str], RegistryServer]) -> Callable[[], Awaitable[Pair]]:
    """Start two instances of one registry on a fresh topic, once one of them writes."""

    async def start() -> Pair:
        topic = f"_schemas-{uuid.uuid4().hex}"
        servers = [own_registry(topic) for _ in range(2)]
        writer = await asyncio.to_thread(writer_of, servers)
        [follower] = [s for s in servers if s is not writer]
        return Pair(topic, writer, follower)

    return start


async def id_records(bootstrap: str, topic: str) -> list[tuple[int, str]]:
    """``(id, schema name)`` of every committed ``ID`` record, in log order."""
    found = []
    kafka = KafkaClientSettings(bootstrap_servers=bootstrap)
    async for message in read_to_end(kafka, [topic], timeout_s=30):
        key = json.loads(message.key or b"{}")
        if key.get("keytype") == "ID" and message.value is not None:
            value = json.loads(message.value)
            found.append((int(value["id"]), json.loads(value["schema"])["name"]))
    return found


async def test_one_writer_and_writes_through_the_follower(
    start_pair: Callable[[], Awaitable[Pair]], kafka_bootstrap: str
) -> None:
    pair = await start_pair()
    topic, servers, writer, follower = pair.topic, pair.servers, pair.writer, pair.follower
    assert writer.writer() == {"url": writer.url, "is_writer": True, "writer_url": writer.url}
    assert follower.writer() == {
        "url": follower.url,
        "is_writer": False,
        "writer_url": writer.url,
    }
    async with RegistryClient(follower.url) as via_follower, RegistryClient(writer.url) as direct:
        assert await via_follower.register("a-value", schema("A")) == 1
        # read-your-writes on the follower, right after its forwarded write
        assert await via_follower.get_versions("a-value") == [1]
        assert await direct.register("b-value", schema("A")) == 1  # the same global id
        assert await direct.register("c-value", schema("B")) == 2
        # a follower reading an id it has not applied yet catches up instead of a 404
        assert json.loads(await via_follower.get_by_id(2))["name"] == "B"
        for client in (via_follower, direct):
            client.clear_cache()
            assert await client.get_subjects() == ["a-value", "b-value", "c-value"]
            assert json.loads(await client.get_by_id(1))["name"] == "A"
            assert (await client.get_version("c-value", 1)).id == 2
        await via_follower.set_config("NONE", "b-value")
        assert await direct.get_config("b-value", default_to_global=False) == "NONE"
    assert await id_records(kafka_bootstrap, topic) == [(1, "A"), (2, "B")]
    assert await asyncio.to_thread(writer_of, servers) is writer  # nothing moved


async def test_sigkill_the_writer_clients_with_both_urls_see_no_failure(
    start_pair: Callable[[], Awaitable[Pair]], kafka_bootstrap: str
) -> None:
    pair = await start_pair()
    topic, servers, writer, follower = pair.topic, pair.servers, pair.writer, pair.follower
    registered: list[tuple[str, int]] = []
    async with RegistryClient(f"{writer.url},{follower.url}") as client:

        async def keep_registering(until: asyncio.Event) -> None:
            while not until.is_set() or len(registered) < 30:
                if len(registered) == 10:
                    warmed_up.set()
                name = f"S{len(registered)}"
                schema_id = await client.register(f"{name}-value", schema(name))
                registered.append((name, schema_id))
                client.clear_cache()  # the fetch asks a server, not the cache
                assert json.loads(await client.get_by_id(schema_id))["name"] == name
                await asyncio.sleep(0.02)

        failed_over, warmed_up = asyncio.Event(), asyncio.Event()
        load = asyncio.create_task(keep_registering(failed_over))
        await asyncio.wait_for(warmed_up.wait(), timeout=60)
        killed_at = time.monotonic()
        writer.kill()
        before = len(registered)
        assert await asyncio.to_thread(writer_of, servers, FAILOVER_BOUND_S) is follower
        failover_s = time.monotonic() - killed_at
        failed_over.set()
        await asyncio.wait_for(load, timeout=120)  # raises whatever the caller saw
        print(f"registry writer failover after SIGKILL: {failover_s:.1f} s", flush=True)
    expected = [(name, number) for number, (name, _) in enumerate(registered, 1)]
    assert registered == expected  # ids 1, 2, 3, ... in order: none skipped, none reused
    assert len(registered) >= before + 20
    assert await id_records(kafka_bootstrap, topic) == [(i, name) for name, i in expected]
    assert failover_s < FAILOVER_BOUND_S


async def test_a_paused_writer_that_resumes_cannot_write(
    start_pair: Callable[[], Awaitable[Pair]], kafka_bootstrap: str
) -> None:
    pair = await start_pair()
    topic, servers, old, new = pair.topic, pair.servers, pair.writer, pair.follower
    async with RegistryClient(old.url) as to_old, RegistryClient(new.url) as to_new:
        assert await to_old.register("a-value", schema("A")) == 1
        old.pause()
        try:
            # the paused one cannot answer: only the new one is asked who writes
            assert await asyncio.to_thread(writer_of, [new], FAILOVER_BOUND_S) is new
            assert await to_new.register("b-value", schema("B")) == 2
            # sent while it is paused: it finds the request as it resumes, racing its
            # first heartbeat to learn it lost the election; fenced, then forwarded
            late = asyncio.create_task(to_old.register("c-value", schema("C")))
            await asyncio.sleep(0.5)
        finally:
            old.resume()
        assert await late == 3
        assert await to_old.register("b-value", schema("B")) == 2
    assert await asyncio.to_thread(writer_of, servers) is new
    assert old.writer()["is_writer"] is False
    assert await id_records(kafka_bootstrap, topic) == [(1, "A"), (2, "B"), (3, "C")]

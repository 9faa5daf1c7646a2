"""Registry-client fixtures shared by the schemas and the registry tests: a client on the
in-memory server app, one on the session's real registry, and ``client`` running each test
on both; ``subject`` and ``topic_prefix`` give fresh names (registries outlive tests).

``own_registry`` starts our own server processes (skipping the test against an external
registry) and ``served`` gives a client on one that stops with it. A conftest imports them
with ``from tests.support.registry_clients import *``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_schemas.registry import RegistryClient

__all__ = [
    "client",
    "memory_client",
    "own_registry",
    "served",
    "server_client",
    "subject",
    "topic_prefix",
]


@pytest_asyncio.fixture
async def memory_client() -> AsyncIterator[RegistryClient]:
    """A client on our server app over an in-memory log (no broker, no socket)."""
    app = create_app(MemorySchemaLog())
    await app.state.registry.start()
    async with RegistryClient("http://registry.test", transport=httpx.ASGITransport(app)) as c:
        yield c


@pytest_asyncio.fixture
async def server_client(schema_registry_url: str) -> AsyncIterator[RegistryClient]:
    """A client on the session's real registry (our server process, or SCHEMA_REGISTRY_URL)."""
    async with RegistryClient(schema_registry_url) as client:
        yield client


@pytest.fixture(params=["memory", pytest.param("server", marks=pytest.mark.integration)])
def client(request: pytest.FixtureRequest) -> RegistryClient:
    """Each test using it runs on the in-memory app and on the real registry over HTTP."""
    name = "memory_client" if request.param == "memory" else "server_client"
    return request.getfixturevalue(name)


@pytest.fixture
def subject() -> str:
    """A fresh subject per test (registries outlive tests)."""
    return f"test-{uuid.uuid4().hex}-value"


@pytest.fixture
def topic_prefix() -> str:
    """A fresh topic prefix per test: ``t<uuid>.`` + ``<event>.v1``."""
    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture
def own_registry(
    external_registry: bool, registry_server_factory: Callable[[str], Any]
) -> Callable[[str], Any]:
    """``start(topic)`` → our own registry server process on ``topic``; a test that restarts,
    compacts or kills servers is skipped when ``SCHEMA_REGISTRY_URL`` points elsewhere."""
    if external_registry:
        pytest.skip("runs our own server processes; SCHEMA_REGISTRY_URL points elsewhere")
    return registry_server_factory


@asynccontextmanager
async def served(server: Any) -> AsyncIterator[RegistryClient]:
    """A client on ``server``; the server stops when the block ends."""
    try:
        async with RegistryClient(server.url) as client:
            yield client
    finally:
        server.stop()

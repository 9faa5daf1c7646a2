"""Schema-registry fixtures (owned by the schemas work).

* ``schema_registry_url`` (session): ``SCHEMA_REGISTRY_URL`` if set (Confluent, Karapace,
  Apicurio or ours), else our server started as a subprocess on a fresh ``_schemas-<uuid>``
  topic of the session's Kafka broker.
* ``registry_server_factory`` (session): starts extra server processes on a given topic
  (e.g. to restart the registry and check that ids survive, or several instances of one
  registry: ``start(topic, "--session-timeout-ms", "6000")``); all are stopped at the end.
  ``writer_of(servers)`` waits until exactly one of them is the elected writer.
* ``external_registry``: True when the tests run against an external registry.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from impact_cli import supervisor

URL_ENV = "SCHEMA_REGISTRY_URL"
Instance = TypeVar("Instance", bound="RegistryInstance")
START_TIMEOUT_S = 60.0
URL_LINE = re.compile(r"^(http://\S+)$", re.MULTILINE)


@dataclass
class RegistryServer:
    """One ``python -m impact_registry`` process."""

    topic: str
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = field(default="")

    def log_tail(self, chars: int = 4000) -> str:
        return supervisor.log_tail(self.log_path, chars)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def writer(self) -> dict[str, Any]:
        """``GET /v1/metadata/writer``: ``{"url", "is_writer", "writer_url"}``."""
        return dict(httpx.get(f"{self.url}/v1/metadata/writer", timeout=5.0).json())

    def kill(self) -> None:
        """SIGKILL: the instance disappears without leaving the writers' group."""
        supervisor.kill(self.process)

    def pause(self) -> None:
        """SIGSTOP: a zombie (no heartbeats, no answers) until ``resume``."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, should it be paused) and wait; SIGKILL after 10 s."""
        supervisor.stop([self.process], timeout=10.0)


def start_registry(bootstrap: str, topic: str, log_dir: Path, *args: str) -> RegistryServer:
    """Start our registry server on ``topic`` (``args``: more options); returns once
    ``GET /subjects`` answers."""
    log_path = log_dir / f"registry-{topic}-{uuid.uuid4().hex[:6]}.log"
    command = [sys.executable, "-m", "impact_registry"]
    command += ["--bootstrap", bootstrap, "--port", "0", "--topic", topic, *args]
    process, url = supervisor.start(command, log_path, URL_LINE, START_TIMEOUT_S)
    server = RegistryServer(topic, process, log_path, url)
    try:
        supervisor.wait_ready(process, supervisor.http_ok(f"{url}/subjects"), 30.0, log_path)
    except BaseException:
        server.stop()
        raise
    return server


class RegistryInstance(Protocol):
    """What ``writer_of`` needs of an instance (``RegistryServer``, ``RegistryProcess``)."""

    @property
    def url(self) -> str: ...
    @property
    def alive(self) -> bool: ...
    def writer(self) -> dict[str, Any]: ...


def writer_of(servers: Sequence[Instance], timeout: float = 60.0) -> Instance:
    """The one live instance that is the elected writer, once every live one agrees on it.

    Raises:
        TimeoutError: no single writer within ``timeout`` (the servers' states in the message).
    """
    deadline = time.monotonic() + timeout
    views: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        live = [s for s in servers if s.alive]
        try:
            views = [s.writer() for s in live]
        except httpx.HTTPError:
            views = []
        writers = [s for s, view in zip(live, views, strict=False) if view["is_writer"]]
        if len(writers) == 1 and all(v["writer_url"] == writers[0].url for v in views):
            return writers[0]
        time.sleep(0.05)
    raise TimeoutError(f"no single registry writer in {timeout:.0f} s: {views}")


@pytest.fixture(scope="session")
def external_registry() -> bool:
    """True when ``SCHEMA_REGISTRY_URL`` points the tests at an external registry."""
    return bool(os.environ.get(URL_ENV))


@pytest.fixture(scope="session")
def registry_server_factory(
    request: pytest.FixtureRequest, external_registry: bool
) -> Iterator[Callable[..., RegistryServer]]:
    """``start(topic, *args)`` → a running ``RegistryServer`` on the session's Kafka broker.

    The broker is only requested when no external registry is configured.
    """
    servers: list[RegistryServer] = []
    log_dir = Path(tempfile.mkdtemp(prefix="impact-registry-"))
    bootstrap = None if external_registry else str(request.getfixturevalue("kafka_bootstrap"))

    def start(topic: str, *args: str) -> RegistryServer:
        if bootstrap is None:
            raise RuntimeError(f"{URL_ENV} is set: not starting our own registry server")
        server = start_registry(bootstrap, topic, log_dir, *args)
        servers.append(server)
        return server

    yield start
    supervisor.stop([server.process for server in servers], timeout=10.0)


@pytest.fixture(scope="session")
def schema_registry_url(
    external_registry: bool, registry_server_factory: Callable[..., RegistryServer]
) -> str:
    """Base URL of the schema registry the session's tests use."""
    if external_registry:
        return os.environ[URL_ENV].rstrip("/")
    return registry_server_factory(f"_schemas-{uuid.uuid4().hex}").url

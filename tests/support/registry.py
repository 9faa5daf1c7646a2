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
import selectors
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

URL_ENV = "SCHEMA_REGISTRY_URL"
Instance = TypeVar("Instance", bound="RegistryInstance")
START_TIMEOUT_S = 60.0


@dataclass
class RegistryServer:
    """One ``python -m impact_registry`` process."""

    topic: str
    process: subprocess.Popen[str]
    log_path: Path
    url: str = field(default="")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def writer(self) -> dict[str, Any]:
        """``GET /v1/metadata/writer``: ``{"url", "is_writer", "writer_url"}``."""
        return dict(httpx.get(f"{self.url}/v1/metadata/writer", timeout=5.0).json())

    def kill(self) -> None:
        """SIGKILL: the instance disappears without leaving the writers' group."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: a zombie (no heartbeats, no answers) until ``resume``."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Terminate (SIGTERM) and wait; kill if it does not exit in 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_url(server: RegistryServer, deadline: float) -> str:
    stdout = server.process.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = stdout.readline()
                if line.startswith("http://"):
                    return line.strip()
                if not line and server.process.poll() is not None:
                    break
    raise RuntimeError(f"registry on {server.topic} printed no URL:\n{server.log_tail()}")


def _wait_ready(server: RegistryServer, deadline: float) -> None:
    """Poll ``GET /subjects`` until it answers 200."""
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/subjects", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"registry at {server.url} not ready:\n{server.log_tail()}")


def start_registry(bootstrap: str, topic: str, log_dir: Path, *args: str) -> RegistryServer:
    """Start our registry server on ``topic`` (``args``: more options); returns once
    ``GET /subjects`` answers."""
    log_path = log_dir / f"registry-{topic}-{uuid.uuid4().hex[:6]}.log"
    command = [sys.executable, "-m", "impact_registry"]
    command += ["--bootstrap", bootstrap, "--port", "0", "--topic", topic, *args]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    server = RegistryServer(topic, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        server.url = _read_url(server, deadline)
        _wait_ready(server, deadline)
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
    for server in servers:
        if server.process.poll() is None:
            server.resume()  # a paused one would not see the SIGTERM
        server.stop()


@pytest.fixture(scope="session")
def schema_registry_url(
    external_registry: bool, registry_server_factory: Callable[..., RegistryServer]
) -> str:
    """Base URL of the schema registry the session's tests use."""
    if external_registry:
        return os.environ[URL_ENV].rstrip("/")
    return registry_server_factory(f"_schemas-{uuid.uuid4().hex}").url

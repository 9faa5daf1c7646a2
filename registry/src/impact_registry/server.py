"""The schema-registry server: a Confluent REST API subset on Starlette.

State lives in a ``SchemaLog`` (a compacted Kafka topic in production): every change is
written and acknowledged before the reply; on startup the log is replayed. Of several
instances on one log, one writes; the others serve reads from their state (kept up to
date from the log) and forward writes to it (``forward.py``). A read that finds nothing
first catches up with the log, so an id just registered elsewhere is never a 404. Every error,
unknown routes and bad requests included, is a Confluent ``{"error_code", "message"}`` body.
Starlette rather than FastAPI: the handlers read their bodies and flags themselves, and
FastAPI's import (its OpenAPI models) was the largest part of the server's start-up.
The routes are in ``routes.py``, the request and response plumbing in ``web.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from impact_schemas.policy import POLICY_LEVEL
from impact_schemas.registry.errors import (
    RegistryError,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from impact_registry.auth import BasicAuth
from impact_registry.core import Registry
from impact_registry.forward import Forwarding, writer_route
from impact_registry.routes import registry_routes
from impact_registry.schema_log import SchemaLog
from impact_registry.web import Endpoint, RegistryResponse, http_error

#: Endpoints that change the state: only the writer runs them, the others forward them.
WRITES = frozenset(
    {
        "register",
        "delete_subject",
        "delete_version",
        "put_config",
        "put_subject_config",
        "delete_subject_config",
        "put_mode",
        "put_subject_mode",
        "delete_subject_mode",
    }
)
#: Not found may only mean not applied yet: catch up with the log and look again.
MAYBE_LAGGING = (SubjectNotFound, VersionNotFound, SchemaNotFound)
SYNC_TIMEOUT_S = 5.0


def create_app(
    log: SchemaLog,
    *,
    default_level: str = POLICY_LEVEL,
    users: dict[str, str] | None = None,
    writer_wait_s: float = 15.0,
) -> Starlette:
    """The registry ASGI app over ``log`` (replayed at startup).

    ``users``: ``{user: password}`` for HTTP basic auth on every request (None/empty: off).
    ``writer_wait_s``: how long a write waits for a writer (an election) before 50004.
    """
    registry = Registry(log, default_level)
    forwarding = Forwarding(log, writer_wait_s)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await registry.start()
        try:
            yield
        finally:
            await forwarding.aclose()
            await log.stop()

    routes = [_wired(route, forwarding, log) for route in registry_routes(registry)]
    routes.append(writer_route(log))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BasicAuth, users=users)] if users else None,
        exception_handlers={RegistryError: _registry_error, HTTPException: _http_error},
    )
    app.state.registry = registry
    return app


def _wired(route: Route, forwarding: Forwarding, log: SchemaLog) -> Route:
    """Writes go to the writer; reads that find nothing catch up with the log first."""
    write = route.name in WRITES
    endpoint = forwarding.writes(route.endpoint) if write else _fresh(route.endpoint, log)
    return Route(route.path, endpoint, methods=route.methods, name=route.name)


def _fresh(endpoint: Endpoint, log: SchemaLog) -> Endpoint:
    """``endpoint``, run again after catching up with the log if it found nothing."""

    async def read(request: Request) -> Response:
        try:
            return await endpoint(request)
        except MAYBE_LAGGING:
            with contextlib.suppress(TimeoutError):
                await log.sync(SYNC_TIMEOUT_S, acknowledged=True)
            return await endpoint(request)

    return read


async def _registry_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    body = {"error_code": exc.error_code, "message": exc.message}
    return RegistryResponse(body, status_code=exc.http_status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return await _registry_error(request, http_error(exc.status_code))

"""The schema-registry server: a Confluent REST API subset on Starlette.

State lives in a ``SchemaLog`` (a compacted Kafka topic in production): every change is
written and acknowledged before the reply; on startup the log is replayed. Of several
instances on one log, one writes; the others serve reads from their state (kept up to
date from the log) and forward writes to it (``forward.py``). A read that finds nothing
first catches up with the log, so an id just registered elsewhere is never a 404. Every error,
unknown routes and bad requests included, is a Confluent ``{"error_code", "message"}`` body.
Starlette rather than FastAPI: the handlers read their bodies and flags themselves, and
FastAPI's import (its OpenAPI models) was the largest part of the server's start-up.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from impact_schemas.policy import POLICY_LEVEL
from impact_schemas.registry.errors import (
    CONTENT_TYPE,
    InvalidCompatibilityLevel,
    InvalidMode,
    InvalidSchema,
    RegistryError,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from impact_schemas.registry.references import references_from_json
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from impact_registry.auth import BasicAuth
from impact_registry.core import Registry
from impact_registry.forward import Forwarding, writer_route
from impact_registry.state import References
from impact_registry.storage import SchemaLog

#: Request content types Confluent accepts (a missing one is read as JSON too).
ACCEPTED_TYPES = (
    CONTENT_TYPE,
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
)
SCHEMA_TYPES = ["AVRO"]
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
Endpoint = Callable[[Request], Awaitable[Response]]
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


class RegistryResponse(JSONResponse):
    media_type = CONTENT_TYPE


def http_error(status: int) -> RegistryError:
    """Confluent's body for a plain HTTP error: ``error_code`` = status."""
    phrase = HTTPStatus(status).phrase
    return RegistryError(f"HTTP {status} {phrase}", http_status=status, error_code=status)


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``?deleted=true``); absent is False, junk is 422."""
    value = request.query_params.get(name)
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise RegistryError(
        f"query parameter {name}: {value!r} is not a boolean", http_status=422, error_code=422
    )


async def json_body(request: Request) -> Any:
    """The parsed JSON body; 415 for a content type Confluent would refuse."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in ACCEPTED_TYPES:
        raise http_error(415)
    return json.loads(await request.body())


async def schema_from_body(request: Request) -> tuple[str, References]:
    """The ``schema`` text and ``references`` of a request body (42201 if malformed).

    The schema itself is parsed, with its references resolved, by ``Registry``.
    """
    try:
        body = await json_body(request)
        schema = body["schema"]
        schema_type = body.get("schemaType", "AVRO")
        references = references_from_json(body.get("references"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidSchema(f'Request body must be {{"schema": "..."}}: {exc}') from exc
    if schema_type != "AVRO":
        raise InvalidSchema(f"Unsupported schemaType {schema_type!r}: only AVRO is supported")
    if not isinstance(schema, str):
        raise InvalidSchema("Field 'schema' must be a string holding the schema JSON")
    return schema, references


async def field_from_body(request: Request, name: str, error: type[RegistryError]) -> Any:
    try:
        return (await json_body(request))[name]
    except (ValueError, KeyError, TypeError) as exc:
        raise error(f'Request body must be {{"{name}": "..."}}: {exc}') from exc


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

    routes = [
        _wired(route, forwarding, log)
        for route in _subject_routes(registry)
        + _schema_routes(registry)
        + _config_routes(registry)
        + _mode_routes(registry)
    ] + [writer_route(log)]
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


def _route(path: str, method: str) -> Callable[[Endpoint], Route]:
    def wrap(endpoint: Endpoint) -> Route:
        return Route(path, endpoint, methods=[method])

    return wrap


def _subject_routes(registry: Registry) -> list[Route]:
    @_route("/", "GET")
    async def root(_: Request) -> Response:
        return RegistryResponse({})

    @_route("/subjects", "GET")
    async def subjects(request: Request) -> Response:
        names = registry.state.subject_names(deleted=flag(request, "deleted"))
        return RegistryResponse(names)

    @_route("/subjects/{subject}/versions", "POST")
    async def register(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject = request.path_params["subject"]
        return RegistryResponse({"id": await registry.register(subject, schema, references)})

    @_route("/subjects/{subject}", "POST")
    async def lookup(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject, deleted = request.path_params["subject"], flag(request, "deleted")
        return RegistryResponse(registry.lookup(subject, schema, references, deleted=deleted))

    @_route("/subjects/{subject}", "DELETE")
    async def delete_subject(request: Request) -> Response:
        subject, permanent = request.path_params["subject"], flag(request, "permanent")
        return RegistryResponse(await registry.delete_subject(subject, permanent=permanent))

    @_route("/subjects/{subject}/versions", "GET")
    async def versions(request: Request) -> Response:
        subject, deleted = request.path_params["subject"], flag(request, "deleted")
        return RegistryResponse(sorted(registry.versions(subject, deleted=deleted)))

    @_route("/subjects/{subject}/versions/{version}", "GET")
    async def get_version(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        number, schema_id = registry.version(subject, version, deleted=flag(request, "deleted"))
        return RegistryResponse(registry.entry(subject, number, schema_id))

    @_route("/subjects/{subject}/versions/{version}/schema", "GET")
    async def get_version_schema(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        _, schema_id = registry.version(subject, version, deleted=flag(request, "deleted"))
        return Response(registry.state.schemas[schema_id], media_type=CONTENT_TYPE)

    @_route("/subjects/{subject}/versions/{version}/referencedby", "GET")
    async def referenced_by(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        return RegistryResponse(registry.referenced_by(subject, version))

    @_route("/subjects/{subject}/versions/{version}", "DELETE")
    async def delete_version(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        permanent = flag(request, "permanent")
        return RegistryResponse(
            await registry.delete_version(subject, version, permanent=permanent)
        )

    return [
        root,
        subjects,
        register,
        lookup,
        delete_subject,
        versions,
        get_version,
        get_version_schema,
        referenced_by,
        delete_version,
    ]


def _schema_routes(registry: Registry) -> list[Route]:
    @_route("/schemas/types", "GET")
    async def schema_types(_: Request) -> Response:
        return RegistryResponse(SCHEMA_TYPES)

    @_route("/schemas/ids/{schema_id:int}", "GET")
    async def by_id(request: Request) -> Response:
        schema_id = request.path_params["schema_id"]
        schema = registry.schema_by_id(schema_id)
        return RegistryResponse({"schema": schema} | registry.references_body(schema_id))

    @_route("/schemas/ids/{schema_id:int}/schema", "GET")
    async def raw_by_id(request: Request) -> Response:
        schema = registry.schema_by_id(request.path_params["schema_id"])
        return Response(schema, media_type=CONTENT_TYPE)

    @_route("/schemas/ids/{schema_id:int}/versions", "GET")
    async def id_versions(request: Request) -> Response:
        usages = registry.usages(request.path_params["schema_id"], deleted=flag(request, "deleted"))
        return RegistryResponse([{"subject": s, "version": v} for s, v in usages])

    @_route("/schemas/ids/{schema_id:int}/subjects", "GET")
    async def id_subjects(request: Request) -> Response:
        usages = registry.usages(request.path_params["schema_id"], deleted=flag(request, "deleted"))
        return RegistryResponse(sorted({s for s, _ in usages}))

    @_route("/compatibility/subjects/{subject}/versions/{version}", "POST")
    async def compatibility(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject, version = request.path_params["subject"], request.path_params["version"]
        reasons = registry.compatibility(subject, schema, references, version)
        return _compatible(reasons, verbose=flag(request, "verbose"))

    @_route("/compatibility/subjects/{subject}/versions", "POST")
    async def compatibility_all(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        reasons = registry.compatibility(request.path_params["subject"], schema, references, None)
        return _compatible(reasons, verbose=flag(request, "verbose"))

    return [
        schema_types,
        by_id,
        raw_by_id,
        id_versions,
        id_subjects,
        compatibility,
        compatibility_all,
    ]


def _compatible(reasons: list[str], *, verbose: bool) -> Response:
    body: dict[str, Any] = {"is_compatible": not reasons}
    if verbose:
        body["messages"] = reasons
    return RegistryResponse(body)


def _config_routes(registry: Registry) -> list[Route]:
    @_route("/config", "GET")
    async def get_config(_: Request) -> Response:
        return RegistryResponse({"compatibilityLevel": registry.state.level()})

    @_route("/config", "PUT")
    async def put_config(request: Request) -> Response:
        level = await field_from_body(request, "compatibility", InvalidCompatibilityLevel)
        return RegistryResponse({"compatibility": await registry.set_level(level, None)})

    @_route("/config/{subject}", "GET")
    async def get_subject_config(request: Request) -> Response:
        to_global = flag(request, "defaultToGlobal")
        level = registry.subject_level(request.path_params["subject"], default_to_global=to_global)
        return RegistryResponse({"compatibilityLevel": level})

    @_route("/config/{subject}", "PUT")
    async def put_subject_config(request: Request) -> Response:
        level = await field_from_body(request, "compatibility", InvalidCompatibilityLevel)
        subject = request.path_params["subject"]
        return RegistryResponse({"compatibility": await registry.set_level(level, subject)})

    @_route("/config/{subject}", "DELETE")
    async def delete_subject_config(request: Request) -> Response:
        removed = await registry.delete_level(request.path_params["subject"])
        return RegistryResponse({"compatibilityLevel": removed})

    return [get_config, put_config, get_subject_config, put_subject_config, delete_subject_config]


def _mode_routes(registry: Registry) -> list[Route]:
    @_route("/mode", "GET")
    async def get_mode(_: Request) -> Response:
        return RegistryResponse({"mode": registry.state.mode()})

    @_route("/mode", "PUT")
    async def put_mode(request: Request) -> Response:
        mode = await field_from_body(request, "mode", InvalidMode)
        return RegistryResponse({"mode": await registry.set_mode(mode, None)})

    @_route("/mode/{subject}", "GET")
    async def get_subject_mode(request: Request) -> Response:
        to_global = flag(request, "defaultToGlobal")
        mode = registry.subject_mode(request.path_params["subject"], default_to_global=to_global)
        return RegistryResponse({"mode": mode})

    @_route("/mode/{subject}", "PUT")
    async def put_subject_mode(request: Request) -> Response:
        mode = await field_from_body(request, "mode", InvalidMode)
        subject = request.path_params["subject"]
        return RegistryResponse({"mode": await registry.set_mode(mode, subject)})

    @_route("/mode/{subject}", "DELETE")
    async def delete_subject_mode(request: Request) -> Response:
        return RegistryResponse(
            {"mode": await registry.delete_mode(request.path_params["subject"])}
        )

    return [get_mode, put_mode, get_subject_mode, put_subject_mode, delete_subject_mode]

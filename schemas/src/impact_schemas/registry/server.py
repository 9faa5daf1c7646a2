"""The schema-registry server: a Confluent REST API subset on FastAPI.

State lives in a ``SchemaLog`` (a compacted Kafka topic in production): every change is
written and acknowledged before the reply; on startup the log is replayed. Every error,
unknown routes and bad requests included, is a Confluent ``{"error_code", "message"}`` body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from impact_schemas.policy import POLICY_LEVEL
from impact_schemas.registry.auth import BasicAuth
from impact_schemas.registry.core import Registry
from impact_schemas.registry.errors import (
    CONTENT_TYPE,
    InvalidCompatibilityLevel,
    InvalidMode,
    InvalidSchema,
    RegistryError,
)
from impact_schemas.registry.references import references_from_json
from impact_schemas.registry.state import References
from impact_schemas.registry.storage import SchemaLog

#: Request content types Confluent accepts (a missing one is read as JSON too).
ACCEPTED_TYPES = (
    CONTENT_TYPE,
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
)
SCHEMA_TYPES = ["AVRO"]
ToGlobal = Annotated[bool, Query(alias="defaultToGlobal")]


class RegistryResponse(JSONResponse):
    media_type = CONTENT_TYPE


def http_error(status: int) -> RegistryError:
    """Confluent's body for a plain HTTP error: ``error_code`` = status."""
    phrase = HTTPStatus(status).phrase
    return RegistryError(f"HTTP {status} {phrase}", http_status=status, error_code=status)


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
    log: SchemaLog, *, default_level: str = POLICY_LEVEL, users: dict[str, str] | None = None
) -> FastAPI:
    """The registry ASGI app over ``log`` (replayed at startup).

    ``users``: ``{user: password}`` for HTTP basic auth on every request (None/empty: off).
    """
    registry = Registry(log, default_level)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await registry.start()
        try:
            yield
        finally:
            await log.stop()

    app = FastAPI(title="impact schema registry", lifespan=lifespan)
    app.state.registry = registry
    if users:
        app.add_middleware(BasicAuth, users=users)
    _error_handlers(app)
    _subject_routes(app, registry)
    _schema_routes(app, registry)
    _config_routes(app, registry)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_: Request, exc: RegistryError) -> Response:
        body = {"error_code": exc.error_code, "message": exc.message}
        return RegistryResponse(body, status_code=exc.http_status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return await _registry_error(request, http_error(exc.status_code))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # a malformed path parameter (e.g. a non-numeric id) names no resource: 404
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return await _registry_error(request, http_error(404))
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await _registry_error(
            request, RegistryError(message, http_status=422, error_code=422)
        )


def _subject_routes(app: FastAPI, registry: Registry) -> None:
    @app.get("/")
    async def root() -> Response:
        return RegistryResponse({})

    @app.get("/subjects")
    async def subjects(deleted: bool = False) -> Response:
        return RegistryResponse(registry.state.subject_names(deleted=deleted))

    @app.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> Response:
        schema, references = await schema_from_body(request)
        return RegistryResponse({"id": await registry.register(subject, schema, references)})

    @app.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request, deleted: bool = False) -> Response:
        schema, references = await schema_from_body(request)
        return RegistryResponse(registry.lookup(subject, schema, references, deleted=deleted))

    @app.delete("/subjects/{subject}")
    async def delete_subject(subject: str, permanent: bool = False) -> Response:
        return RegistryResponse(await registry.delete_subject(subject, permanent=permanent))

    @app.get("/subjects/{subject}/versions")
    async def versions(subject: str, deleted: bool = False) -> Response:
        return RegistryResponse(sorted(registry.versions(subject, deleted=deleted)))

    @app.get("/subjects/{subject}/versions/{version}")
    async def get_version(subject: str, version: str, deleted: bool = False) -> Response:
        number, schema_id = registry.version(subject, version, deleted=deleted)
        return RegistryResponse(registry.entry(subject, number, schema_id))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str, deleted: bool = False) -> Response:
        _, schema_id = registry.version(subject, version, deleted=deleted)
        return Response(registry.state.schemas[schema_id], media_type=CONTENT_TYPE)

    @app.get("/subjects/{subject}/versions/{version}/referencedby")
    async def referenced_by(subject: str, version: str) -> Response:
        return RegistryResponse(registry.referenced_by(subject, version))

    @app.delete("/subjects/{subject}/versions/{version}")
    async def delete_version(subject: str, version: str, permanent: bool = False) -> Response:
        return RegistryResponse(
            await registry.delete_version(subject, version, permanent=permanent)
        )


def _schema_routes(app: FastAPI, registry: Registry) -> None:
    @app.get("/schemas/types")
    async def schema_types() -> Response:
        return RegistryResponse(SCHEMA_TYPES)

    @app.get("/schemas/ids/{schema_id}")
    async def by_id(schema_id: int) -> Response:
        schema = registry.schema_by_id(schema_id)
        return RegistryResponse({"schema": schema} | registry.references_body(schema_id))

    @app.get("/schemas/ids/{schema_id}/schema")
    async def raw_by_id(schema_id: int) -> Response:
        return Response(registry.schema_by_id(schema_id), media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}/versions")
    async def id_versions(schema_id: int, deleted: bool = False) -> Response:
        usages = registry.usages(schema_id, deleted=deleted)
        return RegistryResponse([{"subject": s, "version": v} for s, v in usages])

    @app.get("/schemas/ids/{schema_id}/subjects")
    async def id_subjects(schema_id: int, deleted: bool = False) -> Response:
        usages = registry.usages(schema_id, deleted=deleted)
        return RegistryResponse(sorted({s for s, _ in usages}))

    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility(
        subject: str, version: str, request: Request, verbose: bool = False
    ) -> Response:
        schema, references = await schema_from_body(request)
        reasons = registry.compatibility(subject, schema, references, version)
        return _compatible(reasons, verbose=verbose)

    @app.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_all(subject: str, request: Request, verbose: bool = False) -> Response:
        schema, references = await schema_from_body(request)
        reasons = registry.compatibility(subject, schema, references, None)
        return _compatible(reasons, verbose=verbose)


def _compatible(reasons: list[str], *, verbose: bool) -> Response:
    body: dict[str, Any] = {"is_compatible": not reasons}
    if verbose:
        body["messages"] = reasons
    return RegistryResponse(body)


def _config_routes(app: FastAPI, registry: Registry) -> None:
    @app.get("/config")
    async def get_config() -> Response:
        return RegistryResponse({"compatibilityLevel": registry.state.level()})

    @app.put("/config")
    async def put_config(request: Request) -> Response:
        level = await field_from_body(request, "compatibility", InvalidCompatibilityLevel)
        return RegistryResponse({"compatibility": await registry.set_level(level, None)})

    @app.get("/config/{subject}")
    async def get_subject_config(subject: str, default_to_global: ToGlobal = False) -> Response:
        level = registry.subject_level(subject, default_to_global=default_to_global)
        return RegistryResponse({"compatibilityLevel": level})

    @app.put("/config/{subject}")
    async def put_subject_config(subject: str, request: Request) -> Response:
        level = await field_from_body(request, "compatibility", InvalidCompatibilityLevel)
        return RegistryResponse({"compatibility": await registry.set_level(level, subject)})

    @app.delete("/config/{subject}")
    async def delete_subject_config(subject: str) -> Response:
        return RegistryResponse({"compatibilityLevel": await registry.delete_level(subject)})

    @app.get("/mode")
    async def get_mode() -> Response:
        return RegistryResponse({"mode": registry.state.mode()})

    @app.put("/mode")
    async def put_mode(request: Request) -> Response:
        mode = await field_from_body(request, "mode", InvalidMode)
        return RegistryResponse({"mode": await registry.set_mode(mode, None)})

    @app.get("/mode/{subject}")
    async def get_subject_mode(subject: str, default_to_global: ToGlobal = False) -> Response:
        mode = registry.subject_mode(subject, default_to_global=default_to_global)
        return RegistryResponse({"mode": mode})

    @app.put("/mode/{subject}")
    async def put_subject_mode(subject: str, request: Request) -> Response:
        mode = await field_from_body(request, "mode", InvalidMode)
        return RegistryResponse({"mode": await registry.set_mode(mode, subject)})

    @app.delete("/mode/{subject}")
    async def delete_subject_mode(subject: str) -> Response:
        return RegistryResponse({"mode": await registry.delete_mode(subject)})

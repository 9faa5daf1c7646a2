"""The schema-registry server: a Confluent REST API subset on FastAPI.

State lives in a ``SchemaLog`` (a compacted Kafka topic in production): every change is
written and acknowledged before the reply; on startup the log is replayed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from impact_schemas.policy import LEVELS, POLICY_LEVEL, check_compatible, parse_avro
from impact_schemas.registry.client import CONTENT_TYPE
from impact_schemas.registry.errors import (
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    RegistryError,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from impact_schemas.registry.state import RegistryState, canonical
from impact_schemas.registry.storage import SchemaLog

BACKEND_ERROR_CODE = 50001


class RegistryResponse(JSONResponse):
    media_type = CONTENT_TYPE


class Registry:
    """Request logic over the state; writes go to the log first, then to memory."""

    def __init__(self, log: SchemaLog, default_level: str = POLICY_LEVEL) -> None:
        self.log = log
        self.state = RegistryState(default_level=default_level)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        for key, value in await self.log.start():
            self.state.apply(key, value)

    async def _write(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        try:
            await self.log.append(key, value)
        except KafkaError as exc:
            raise RegistryError(
                f"Error in the backend data store: {exc}",
                http_status=500,
                error_code=BACKEND_ERROR_CODE,
            ) from exc
        self.state.apply(key, value)

    def versions(self, subject: str) -> dict[int, int]:
        versions = self.state.versions(subject)
        if not versions:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return versions

    def version(self, subject: str, version: str) -> tuple[int, int]:
        """``(version, id)`` for ``latest``/``-1`` or a positive version number."""
        number = parse_version_param(version)
        versions = self.versions(subject)
        if number == -1:
            number = max(versions)
        if number not in versions:
            raise VersionNotFound(f"Version {version} not found.")
        return number, versions[number]

    def history(self, subject: str) -> list[str]:
        """Schemas of a subject, oldest first."""
        versions = self.state.versions(subject)
        return [self.state.schemas[versions[v]] for v in sorted(versions)]

    async def register(self, subject: str, schema: str) -> int:
        async with self._lock:
            known_id = self.state.ids.get(canonical(schema))
            if known_id is not None and self.state.version_of(subject, known_id) is not None:
                return known_id
            level = self.state.level(subject)
            reasons = check_compatible(schema, self.history(subject), level)
            if reasons:
                raise IncompatibleSchema(
                    f"Schema being registered is incompatible with an earlier schema for "
                    f"subject '{subject}' ({level}): {'; '.join(reasons)}"
                )
            key, value = self.state.register_record(subject, schema)
            await self._write(key, value)
            return int(value["id"])

    def entry(self, subject: str, version: int, schema_id: int) -> dict[str, Any]:
        return {
            "subject": subject,
            "version": version,
            "id": schema_id,
            "schema": self.state.schemas[schema_id],
        }

    def schema_by_id(self, schema_id: int) -> str:
        if schema_id not in self.state.schemas:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        return self.state.schemas[schema_id]

    async def set_level(self, level: Any, subject: str | None) -> str:
        if level not in LEVELS:
            raise InvalidCompatibilityLevel(
                f"Invalid compatibility level {level!r}; valid: {', '.join(LEVELS)}"
            )
        async with self._lock:
            await self._write(
                {"keytype": "CONFIG", "subject": subject}, {"compatibilityLevel": level}
            )
        return str(level)

    async def delete_subject(self, subject: str) -> list[int]:
        async with self._lock:
            versions = sorted(self.versions(subject))
            await self._write({"keytype": "DELETE_SUBJECT", "subject": subject}, {})
        return versions


def parse_version_param(version: str) -> int:
    """``latest`` → -1; a positive integer → itself; anything else → 42202."""
    if version in ("latest", "-1"):
        return -1
    if version.isdigit() and int(version) > 0 and int(version) < 2**31:
        return int(version)
    raise InvalidVersion(
        f"The specified version '{version}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )


async def schema_from_body(request: Request) -> str:
    """The ``schema`` text of a request body, checked to be valid Avro (else 42201)."""
    try:
        body = json.loads(await request.body())
        schema = body["schema"]
        schema_type = body.get("schemaType", "AVRO")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSchema(f'Request body must be {{"schema": "..."}}: {exc}') from exc
    if schema_type != "AVRO":
        raise InvalidSchema(f"Unsupported schemaType {schema_type!r}: only AVRO is supported")
    if not isinstance(schema, str):
        raise InvalidSchema("Field 'schema' must be a string holding the schema JSON")
    try:
        parse_avro(schema)
    except ValueError as exc:
        raise InvalidSchema(f"Invalid schema: {exc}") from exc
    return schema


def create_app(log: SchemaLog, *, default_level: str = POLICY_LEVEL) -> FastAPI:
    """The registry ASGI app over ``log`` (replayed at startup)."""
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

    @app.exception_handler(RegistryError)
    async def _registry_error(_: Request, exc: RegistryError) -> Response:
        body = {"error_code": exc.error_code, "message": exc.message}
        return RegistryResponse(body, status_code=exc.http_status)

    @app.get("/")
    async def root() -> Response:
        return RegistryResponse({})

    @app.get("/subjects")
    async def subjects() -> Response:
        return RegistryResponse(registry.state.live_subjects())

    @app.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> Response:
        schema = await schema_from_body(request)
        return RegistryResponse({"id": await registry.register(subject, schema)})

    @app.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request) -> Response:
        schema = await schema_from_body(request)
        registry.versions(subject)
        schema_id = registry.state.ids.get(canonical(schema))
        version = None if schema_id is None else registry.state.version_of(subject, schema_id)
        if schema_id is None or version is None:
            raise SchemaNotFound("Schema not found")
        return RegistryResponse(registry.entry(subject, version, schema_id))

    @app.delete("/subjects/{subject}")
    async def delete_subject(subject: str) -> Response:
        return RegistryResponse(await registry.delete_subject(subject))

    @app.get("/subjects/{subject}/versions")
    async def versions(subject: str) -> Response:
        return RegistryResponse(sorted(registry.versions(subject)))

    @app.get("/subjects/{subject}/versions/{version}")
    async def get_version(subject: str, version: str) -> Response:
        number, schema_id = registry.version(subject, version)
        return RegistryResponse(registry.entry(subject, number, schema_id))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str) -> Response:
        _, schema_id = registry.version(subject, version)
        return Response(registry.state.schemas[schema_id], media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}")
    async def by_id(schema_id: int) -> Response:
        return RegistryResponse({"schema": registry.schema_by_id(schema_id)})

    @app.get("/schemas/ids/{schema_id}/schema")
    async def raw_by_id(schema_id: int) -> Response:
        return Response(registry.schema_by_id(schema_id), media_type=CONTENT_TYPE)

    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility(
        subject: str, version: str, request: Request, verbose: bool = False
    ) -> Response:
        number = parse_version_param(version)
        schema = await schema_from_body(request)
        if number == -1 and not registry.state.versions(subject):
            reasons: list[str] = []
        elif number == -1:
            reasons = check_compatible(
                schema, registry.history(subject), registry.state.level(subject)
            )
        else:
            _, schema_id = registry.version(subject, version)
            reasons = check_compatible(
                schema, [registry.state.schemas[schema_id]], registry.state.level(subject)
            )
        body: dict[str, Any] = {"is_compatible": not reasons}
        if verbose:
            body["messages"] = reasons
        return RegistryResponse(body)

    @app.get("/config")
    async def get_config() -> Response:
        return RegistryResponse({"compatibilityLevel": registry.state.level()})

    @app.put("/config")
    async def put_config(request: Request) -> Response:
        level = await _level_from_body(request)
        return RegistryResponse({"compatibility": await registry.set_level(level, None)})

    @app.get("/config/{subject}")
    async def get_subject_config(subject: str) -> Response:
        return RegistryResponse({"compatibilityLevel": registry.state.level(subject)})

    @app.put("/config/{subject}")
    async def put_subject_config(subject: str, request: Request) -> Response:
        level = await _level_from_body(request)
        return RegistryResponse({"compatibility": await registry.set_level(level, subject)})

    return app


async def _level_from_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())["compatibility"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCompatibilityLevel(
            f'Request body must be {{"compatibility": "LEVEL"}}: {exc}'
        ) from exc

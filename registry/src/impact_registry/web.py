"""HTTP plumbing of the registry server: Confluent's content type and error bodies, request
bodies and flags, and the route decorator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from impact_schemas.registry.errors import CONTENT_TYPE, InvalidSchema, RegistryError
from impact_schemas.registry.references import references_from_json
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from impact_registry.state import References

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


def route(path: str, method: str, name: str | None = None) -> Callable[[Endpoint], Route]:
    def wrap(endpoint: Endpoint) -> Route:
        return Route(path, endpoint, methods=[method], name=name)

    return wrap

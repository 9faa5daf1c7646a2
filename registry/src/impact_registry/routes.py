"""The registry's REST routes (Confluent's subset): subjects and versions, schemas by id,
compatibility checks, and the compatibility level and mode of the registry and of a subject."""

from __future__ import annotations

from typing import Any

from impact_schemas.registry.errors import CONTENT_TYPE
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from impact_registry.core import Registry
from impact_registry.settings import LEVEL, MODE, Setting
from impact_registry.web import (
    SCHEMA_TYPES,
    RegistryResponse,
    field_from_body,
    flag,
    route,
    schema_from_body,
)


def registry_routes(registry: Registry) -> list[Route]:
    """Every route of the REST API over ``registry``."""
    return [
        *_subject_routes(registry),
        *_schema_routes(registry),
        *_setting_routes(registry, LEVEL),
        *_setting_routes(registry, MODE),
    ]


def _subject_routes(registry: Registry) -> list[Route]:
    @route("/", "GET")
    async def root(_: Request) -> Response:
        return RegistryResponse({})

    @route("/subjects", "GET")
    async def subjects(request: Request) -> Response:
        names = registry.state.subject_names(deleted=flag(request, "deleted"))
        return RegistryResponse(names)

    @route("/subjects/{subject}/versions", "POST")
    async def register(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject = request.path_params["subject"]
        return RegistryResponse({"id": await registry.register(subject, schema, references)})

    @route("/subjects/{subject}", "POST")
    async def lookup(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject, deleted = request.path_params["subject"], flag(request, "deleted")
        return RegistryResponse(registry.lookup(subject, schema, references, deleted=deleted))

    @route("/subjects/{subject}", "DELETE")
    async def delete_subject(request: Request) -> Response:
        subject, permanent = request.path_params["subject"], flag(request, "permanent")
        return RegistryResponse(await registry.delete_subject(subject, permanent=permanent))

    @route("/subjects/{subject}/versions", "GET")
    async def versions(request: Request) -> Response:
        subject, deleted = request.path_params["subject"], flag(request, "deleted")
        return RegistryResponse(sorted(registry.versions(subject, deleted=deleted)))

    @route("/subjects/{subject}/versions/{version}", "GET")
    async def get_version(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        number, schema_id = registry.version(subject, version, deleted=flag(request, "deleted"))
        return RegistryResponse(registry.entry(subject, number, schema_id))

    @route("/subjects/{subject}/versions/{version}/schema", "GET")
    async def get_version_schema(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        _, schema_id = registry.version(subject, version, deleted=flag(request, "deleted"))
        return Response(registry.state.schemas[schema_id], media_type=CONTENT_TYPE)

    @route("/subjects/{subject}/versions/{version}/referencedby", "GET")
    async def referenced_by(request: Request) -> Response:
        subject, version = request.path_params["subject"], request.path_params["version"]
        return RegistryResponse(registry.referenced_by(subject, version))

    @route("/subjects/{subject}/versions/{version}", "DELETE")
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
    @route("/schemas/types", "GET")
    async def schema_types(_: Request) -> Response:
        return RegistryResponse(SCHEMA_TYPES)

    @route("/schemas/ids/{schema_id:int}", "GET")
    async def by_id(request: Request) -> Response:
        schema_id = request.path_params["schema_id"]
        schema = registry.schema_by_id(schema_id)
        return RegistryResponse({"schema": schema} | registry.references_body(schema_id))

    @route("/schemas/ids/{schema_id:int}/schema", "GET")
    async def raw_by_id(request: Request) -> Response:
        schema = registry.schema_by_id(request.path_params["schema_id"])
        return Response(schema, media_type=CONTENT_TYPE)

    @route("/schemas/ids/{schema_id:int}/versions", "GET")
    async def id_versions(request: Request) -> Response:
        usages = registry.usages(request.path_params["schema_id"], deleted=flag(request, "deleted"))
        return RegistryResponse([{"subject": s, "version": v} for s, v in usages])

    @route("/schemas/ids/{schema_id:int}/subjects", "GET")
    async def id_subjects(request: Request) -> Response:
        usages = registry.usages(request.path_params["schema_id"], deleted=flag(request, "deleted"))
        return RegistryResponse(sorted({s for s, _ in usages}))

    @route("/compatibility/subjects/{subject}/versions/{version}", "POST")
    async def compatibility(request: Request) -> Response:
        schema, references = await schema_from_body(request)
        subject, version = request.path_params["subject"], request.path_params["version"]
        reasons = registry.compatibility(subject, schema, references, version)
        return _compatible(reasons, verbose=flag(request, "verbose"))

    @route("/compatibility/subjects/{subject}/versions", "POST")
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


def _setting_routes(registry: Registry, setting: Setting) -> list[Route]:
    """GET/PUT the global level or mode, GET/PUT/DELETE a subject's (Confluent's names:
    ``get_config``, ``put_subject_mode``, ...)."""
    path, name, field, body_field = (
        f"/{setting.path}",
        setting.path,
        setting.field,
        setting.body_field,
    )

    @route(path, "GET", f"get_{name}")
    async def get_global(_: Request) -> Response:
        return RegistryResponse({field: setting.current(registry.state, None)})

    @route(path, "PUT", f"put_{name}")
    async def put_global(request: Request) -> Response:
        value = await field_from_body(request, body_field, setting.invalid)
        return RegistryResponse({body_field: await registry.set_setting(setting, value, None)})

    @route(path + "/{subject}", "GET", f"get_subject_{name}")
    async def get_subject(request: Request) -> Response:
        subject, to_global = request.path_params["subject"], flag(request, "defaultToGlobal")
        value = registry.subject_setting(setting, subject, default_to_global=to_global)
        return RegistryResponse({field: value})

    @route(path + "/{subject}", "PUT", f"put_subject_{name}")
    async def put_subject(request: Request) -> Response:
        value = await field_from_body(request, body_field, setting.invalid)
        subject = request.path_params["subject"]
        return RegistryResponse({body_field: await registry.set_setting(setting, value, subject)})

    @route(path + "/{subject}", "DELETE", f"delete_subject_{name}")
    async def delete_subject(request: Request) -> Response:
        removed = await registry.delete_setting(setting, request.path_params["subject"])
        return RegistryResponse({field: removed})

    return [get_global, put_global, get_subject, put_subject, delete_subject]

"""Structure check and path inlining of one initiative's measure config."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from impact_contracts import ModelType
from pydantic import BaseModel, ConfigDict, ValidationError

from impact_orchestrator.manifest.errors import key_path
from impact_orchestrator.manifest.files import DataRoot

KeyParts = tuple[str | int, ...]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["simulator", "file"]
    CONFIG: dict[str, Any] = {}


class _Transform(BaseModel):
    model_config = ConfigDict(extra="forbid")
    FUNCTION: str
    PARAMS: dict[str, Any] = {}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
    SOURCE: _Source
    TRANSFORM: _Transform | None = None


class _Measurement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    MODEL: ModelType
    PARAMS: dict[str, Any] = {}


class MeasureConfigShape(BaseModel):
    """The documented layout of a measure config (ARCHITECTURE.md, "Manifest")."""

    model_config = ConfigDict(extra="forbid")
    DATA: _Data
    MEASUREMENT: _Measurement
    SCALE: dict[str, Any] | None = None


def load_measure_config(
    value: Any, *, named_by: Path, key: KeyParts, root: DataRoot
) -> dict[str, Any] | None:
    """Return the inlined, structure-checked config with absolute data paths, or ``None``
    after recording errors. ``value`` is a path (relative to ``named_by``) or a mapping."""
    prefix: KeyParts
    if isinstance(value, str):
        path = root.resolve(value, named_by=named_by, key=key_path(*key))
        if path is None:
            return None
        content = root.load_mapping(path, named_by=named_by, key=key_path(*key))
        source, prefix = path, ()
    elif isinstance(value, dict):
        content, source, prefix = value, named_by, key
    else:
        root.errors.add(root.display(named_by), key_path(*key), "must be a path or a mapping")
        return None
    if content is None:
        return None
    try:
        shape = MeasureConfigShape.model_validate(content)
    except ValidationError as exc:
        root.errors.add_validation(root.display(source), prefix, exc)
        return None
    config = copy.deepcopy(content)
    before = len(root.errors.errors)
    _inline_path(config, ("DATA", "SOURCE", "CONFIG"), shape.DATA.SOURCE.type, source, prefix, root)
    scale = config.get("SCALE") or {}
    scale_type = scale.get("DATA", {}).get("SOURCE", {}).get("type", shape.DATA.SOURCE.type)
    _inline_path(config, ("SCALE", "DATA", "SOURCE", "CONFIG"), scale_type, source, prefix, root)
    return config if len(root.errors.errors) == before else None


def _inline_path(
    config: dict[str, Any],
    section: tuple[str, ...],
    source_type: str,
    source: Path,
    prefix: KeyParts,
    root: DataRoot,
) -> None:
    """Replace ``<section>.path`` by its absolute path (it must exist for file sources)."""
    node: Any = config
    for name in section:
        node = node.get(name) if isinstance(node, dict) else None
    if not isinstance(node, dict) or "path" not in node:
        return
    resolved = root.resolve(
        node["path"],
        named_by=source,
        key=key_path(*prefix, *section, "path"),
        must_exist=source_type == "file",
    )
    if resolved is not None:
        node["path"] = str(resolved)

"""Structure check, simulator limits and path inlining of one initiative's measure config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact_measure.api import InputParams, check_layout, deep_merge
from pydantic import BaseModel, ValidationError

from impact_orchestrator.manifest.errors import key_path
from impact_orchestrator.manifest.files import DataRoot

KeyParts = tuple[str | int, ...]
SOURCE_CONFIG = ("DATA", "SOURCE", "CONFIG")


@dataclass(frozen=True)
class InlinedConfig:
    """A checked measure config with absolute data paths and, for a simulator source at
    scale, the days it simulates: ``scale_sample_size`` products are drawn for each."""

    config: dict[str, Any]
    scale_days: int | None


def load_measure_config(
    value: Any, *, named_by: Path, key: KeyParts, root: DataRoot
) -> InlinedConfig | None:
    """The checked, inlined config, or ``None`` after recording errors. ``value`` is a
    path (relative to ``named_by``; each file is checked once) or a mapping."""
    if isinstance(value, dict):
        return _check(value, named_by, key, root)
    if not isinstance(value, str):
        root.errors.add(root.display(named_by), key_path(*key), "must be a path or a mapping")
        return None
    path = root.resolve(value, named_by=named_by, key=key_path(*key))
    if path is None:
        return None
    cache_key = ("measure_config", path)
    if cache_key not in root.cache:
        content = root.load_mapping(path, named_by=named_by, key=key_path(*key))
        root.cache[cache_key] = None if content is None else _check(content, path, (), root)
    cached: InlinedConfig | None = root.cache[cache_key]
    return cached


def _check(
    content: dict[str, Any], source: Path, prefix: KeyParts, root: DataRoot
) -> InlinedConfig | None:
    try:
        shape = check_layout(content)
    except ValidationError as exc:
        root.errors.add_validation(root.display(source), prefix, exc)
        return None
    before = root.errors.count
    _check_inputs(content, source, prefix, root)
    pilot_days = _simulated_days(shape.DATA.SOURCE.model_dump(), source, prefix, root)
    config = _inline_path(content, SOURCE_CONFIG, shape.DATA.SOURCE.type, source, prefix, root)
    scale_days = pilot_days
    scale_source = ((content.get("SCALE") or {}).get("DATA") or {}).get("SOURCE")
    if isinstance(scale_source, dict):
        merged = deep_merge(shape.DATA.SOURCE.model_dump(), scale_source)
        scale_prefix = (*prefix, "SCALE")
        scale_days = _simulated_days(merged, source, scale_prefix, root)
        scale_type = merged.get("type", shape.DATA.SOURCE.type)
        config = _inline_path(config, ("SCALE", *SOURCE_CONFIG), scale_type, source, prefix, root)
    return InlinedConfig(config, scale_days) if root.errors.count == before else None


def _check_inputs(content: dict[str, Any], file: Path, prefix: KeyParts, root: DataRoot) -> None:
    """Check with the measure stage's own models what it reads about the data: a source's
    CONFIG (its ``Config`` model; no credentials), built-in transforms' PARAMS and the
    input PARAMS (``treatment_values``, ``time_type``), in the config and its SCALE."""
    from impact_measure.api import CREDENTIALS_REASON, PARAMS_MODELS, SOURCES, credentials_in

    display = root.display(file)
    for section, where in ((content, prefix), (_mapping(content, "SCALE"), (*prefix, "SCALE"))):
        data = _mapping(section, "DATA")
        source = deep_merge(content["DATA"]["SOURCE"], _mapping(data, "SOURCE"))
        own_source = section is content or "SOURCE" in data
        if own_source and source.get("type") in SOURCES.names():
            config = source.get("CONFIG") or {}
            leaked = list(credentials_in(config, key_path(*where, *SOURCE_CONFIG)))
            for key in leaked:
                root.errors.add(display, key, CREDENTIALS_REASON)
            model = getattr(SOURCES.get(source["type"]), "Config", None)
            if model is not None and not leaked:
                _validate(model, config, display, (*where, *SOURCE_CONFIG), root)
        transform = data.get("TRANSFORM")
        listed = isinstance(transform, list)
        steps: list[Any] = transform if isinstance(transform, list) else [transform]
        for index, step in enumerate(steps):
            if not isinstance(step, dict) or step.get("FUNCTION") not in PARAMS_MODELS:
                continue
            at = (*where, "DATA", "TRANSFORM", *([index] if listed else []), "PARAMS")
            _validate(PARAMS_MODELS[step["FUNCTION"]], step.get("PARAMS") or {}, display, at, root)
        params = _mapping(_mapping(section, "MEASUREMENT"), "PARAMS")
        inputs = {k: v for k, v in params.items() if k in InputParams.model_fields}
        _validate(InputParams, inputs, display, (*where, "MEASUREMENT", "PARAMS"), root)


def _mapping(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` if it is a mapping, else an empty one (the shape check reports it)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _validate(
    model: type[BaseModel], value: Any, display: str, at: KeyParts, root: DataRoot
) -> None:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        root.errors.add_validation(display, at, exc)


def _simulated_days(
    source: dict[str, Any], file: Path, prefix: KeyParts, root: DataRoot
) -> int | None:
    """Check a simulator source's CONFIG with the measure stage's own rules and limits;
    the number of days it simulates (``None`` for other sources or after an error)."""
    if source.get("type") != "simulator":
        return None
    from impact_measure.api import SimulatorConfig  # pandas: only if simulated

    try:
        config = SimulatorConfig.model_validate(source.get("CONFIG") or {})
    except ValidationError as exc:
        root.errors.add_validation(root.display(file), (*prefix, *SOURCE_CONFIG), exc)
        return None
    return (config.end_date - config.start_date).days + 1


def _inline_path(
    config: dict[str, Any],
    section: tuple[str, ...],
    source_type: str,
    source: Path,
    prefix: KeyParts,
    root: DataRoot,
) -> dict[str, Any]:
    """``config`` with ``<section>.path`` made absolute (it must exist for file sources).
    Only the mappings on the way are copied: the input is never changed."""
    node: Any = config
    for name in section:
        node = node.get(name) if isinstance(node, dict) else None
    if not isinstance(node, dict) or "path" not in node:
        return config
    resolved = root.resolve(
        node["path"],
        named_by=source,
        key=key_path(*prefix, *section, "path"),
        must_exist=source_type == "file",
    )
    return config if resolved is None else _replaced(config, section, str(resolved))


def _replaced(mapping: dict[str, Any], section: tuple[str, ...], path: str) -> dict[str, Any]:
    if not section:
        return {**mapping, "path": path}
    head, *rest = section
    return {**mapping, head: _replaced(mapping[head], tuple(rest), path)}

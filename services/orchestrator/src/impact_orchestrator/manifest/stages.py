"""Stage sections (``MEASURE``/``EVALUATE``/``ALLOCATE``): component name + its kwargs."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact_contracts import ComponentCatalog, ImpactError
from impact_contracts import StageChoice as StageConfig
from impact_measure.api import storage_problem

from impact_orchestrator.manifest.earlier import KEY as EARLIER
from impact_orchestrator.manifest.earlier import resolve_earlier
from impact_orchestrator.manifest.errors import key_path
from impact_orchestrator.manifest.files import DataRoot

STAGE_SECTIONS = ("MEASURE", "EVALUATE", "ALLOCATE")
__all__ = [
    "STAGE_SECTIONS",
    "Catalogs",
    "StageConfig",
    "check_component",
    "default_catalogs",
    "load_stage",
]


@dataclass(frozen=True)
class Catalogs:
    """The three component catalogs a manifest is checked against."""

    measure: ComponentCatalog
    evaluate: ComponentCatalog
    allocate: ComponentCatalog

    def for_section(self, section: str) -> ComponentCatalog:
        return {"MEASURE": self.measure, "EVALUATE": self.evaluate, "ALLOCATE": self.allocate}[
            section
        ]


def default_catalogs() -> Catalogs:
    """The catalogs of the installed stage packages."""
    from impact_allocate import ALLOCATE_COMPONENTS
    from impact_evaluate import EVALUATE_COMPONENTS
    from impact_measure.api import MEASURE_COMPONENTS

    return Catalogs(MEASURE_COMPONENTS, EVALUATE_COMPONENTS, ALLOCATE_COMPONENTS)


def default_component(section: str) -> str:
    """Defaults: the component named like the section (``Measure``, ``Evaluate``,
    ``Allocate``: its ``rule`` kwarg, as in the original ``ALLOCATE: {rule: minimax_regret}``,
    defaults to ``auto``, the Bayes rule on posterior returns)."""
    return section.capitalize()


def load_stage(
    section: str,
    value: Any,
    *,
    named_by: Path,
    root: DataRoot,
    catalog: ComponentCatalog,
    storage: Path,
) -> StageConfig | None:
    """Resolve one stage section (inline mapping, path to a stage file, or absent); a
    ``storage_url`` kwarg must be a sub-path of the ``storage`` root."""
    prefix: tuple[str, ...]
    if value is None:
        content: Any = {}
        file, prefix = named_by, (section,)
    elif isinstance(value, str):
        path = root.resolve(value, named_by=named_by, key=section)
        content = root.load_mapping(path, named_by=named_by, key=section) if path else None
        file, prefix = path or named_by, ()
    elif isinstance(value, dict):
        content, file, prefix = value, named_by, (section,)
    else:
        root.errors.add(root.display(named_by), section, "must be a path or a mapping")
        return None
    if content is None:
        return None
    kwargs = {k: v for k, v in content.items() if k != "component"}
    name = content.get("component", default_component(section))
    where = root.display(file)
    if section == "EVALUATE" and kwargs.get(EARLIER) is not None:
        earlier = resolve_earlier(
            kwargs[EARLIER], named_by=file, where=where, prefix=prefix, root=root
        )
        if earlier is None:
            return None
        kwargs[EARLIER] = earlier
    if not check_component(name, kwargs, catalog=catalog, where=where, prefix=prefix, root=root):
        return None
    url = kwargs.get("storage_url")
    problem = None if url is None else storage_problem(url, storage)
    if problem is not None:
        root.errors.add(where, key_path(*prefix, "storage_url"), problem)
        return None
    try:
        catalog.create(name, **kwargs)
    except (ImpactError, ValueError, TypeError) as exc:
        root.errors.add(where, key_path(*prefix), f"{name}: {exc}")
        return None
    return StageConfig(component=name, kwargs=kwargs)


def check_component(
    name: Any,
    kwargs: dict[str, Any],
    *,
    catalog: ComponentCatalog,
    where: str,
    prefix: tuple[str, ...],
    root: DataRoot,
) -> bool:
    """Whether ``name`` is registered and its constructor accepts ``kwargs``, recording one
    error per problem; nothing is constructed."""
    if not isinstance(name, str):
        root.errors.add(where, key_path(*prefix, "component"), "must be a string")
        return False
    if name not in catalog.names():
        known = ", ".join(catalog.names())
        reason = f"unknown component {name!r} (known: {known})"
        root.errors.add(where, key_path(*prefix, "component"), reason)
        return False
    return _kwargs_accepted(name, catalog.get(name), kwargs, where, prefix, root)


def _kwargs_accepted(
    name: str,
    cls: type,
    kwargs: dict[str, Any],
    where: str,
    prefix: tuple[str, ...],
    root: DataRoot,
) -> bool:
    """Check ``kwargs`` against the constructor signature, one error per bad key."""
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    accepted = [
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    ok = True
    for key in kwargs:
        if key not in accepted:
            reason = f"unknown argument for {name} (accepted: {', '.join(accepted)})"
            root.errors.add(where, key_path(*prefix, key), reason)
            ok = False
    for param in accepted:
        if params[param].default is inspect.Parameter.empty and param not in kwargs:
            root.errors.add(where, key_path(*prefix, param), f"required by {name}")
            ok = False
    return ok

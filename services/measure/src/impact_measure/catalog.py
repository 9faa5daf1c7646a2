"""The measure stage's component catalog, and the plugin entry points its adapter catalogs
(sources, transforms, models: ``impact_contracts.Catalog``) load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from impact_contracts import ComponentCatalog, ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: Measure components (``Measure``, ``MockMeasure``) by manifest name.
MEASURE_COMPONENTS = ComponentCatalog("measure")


def plugin_entry_points(group: str) -> Iterator[tuple[EntryPoint, Any]]:
    """The installed plugin packages' entry points of ``group``, each with what it loads.

    Raises:
        ConfigError: a plugin cannot be imported (the message names it).
    """
    from importlib.metadata import entry_points

    for entry in entry_points(group=group):
        try:
            loaded = entry.load()
        except Exception as exc:
            raise ConfigError(f"{group}: cannot load {entry.name} = {entry.value}: {exc}") from exc
        yield entry, loaded

"""Small name → adapter catalogs that adapters join with a decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from impact_contracts import ComponentCatalog, ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

T = TypeVar("T")

#: Measure components (``Measure``, ``MockMeasure``) by manifest name.
MEASURE_COMPONENTS = ComponentCatalog("measure")


class AdapterCatalog(Generic[T]):
    """Maps a configuration name to an adapter (class or function)."""

    def __init__(self, kind: str, key_path: str) -> None:
        self.kind = kind
        self.key_path = key_path
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@catalog.register("name")``."""

        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ConfigError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            return item

        return decorate

    def names(self) -> list[str]:
        return sorted(self._items)

    def get(self, name: str) -> T:
        """The adapter called ``name``; unknown names raise ``ConfigError`` at ``key_path``."""
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"{self.key_path}: unknown {self.kind} {name!r}; known: {', '.join(self.names())}"
            ) from None


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

"""The component interface and the catalogs (name → definition) that stages pick
components, data sources, transforms and models from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from impact_contracts.errors import ConfigError


@runtime_checkable
class Component(Protocol):
    """A pure pipeline stage: one event in, one result out, no Kafka, usable in a notebook."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]: ...


T = TypeVar("T")
C = TypeVar("C", bound=type)


class Catalog(Generic[T]):
    """Maps configuration names to definitions (classes or functions) that join it with a
    decorator; an unknown name raises ``ConfigError`` at ``key_path``."""

    def __init__(self, kind: str, key_path: str, owner: str | None = None) -> None:
        self.kind = kind
        self.key_path = key_path
        self._owner = f"{owner}: " if owner else ""
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@catalog.register("name")``."""

        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ConfigError(f"{self._owner}{self.kind} {name!r} is already registered")
            self._items[name] = item
            return item

        return decorate

    def names(self) -> list[str]:
        return sorted(self._items)

    def get(self, name: str) -> T:
        """The definition called ``name``."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(
                f"{self.key_path}: unknown {self.kind} {name!r}; known: {known}"
            ) from None


class ComponentCatalog(Catalog[type]):
    """A stage's components by configuration name (e.g. ``MinimaxRegretAllocate``)."""

    def __init__(self, stage: str) -> None:
        super().__init__("component", f"{stage}.component", owner=stage)
        self.stage = stage

    def register(self, name: str | None = None) -> Callable[[C], C]:
        """Class decorator: ``@catalog.register()`` registers under the class name."""

        def decorate(cls: C) -> C:
            Catalog.register(self, name or cls.__name__)(cls)
            return cls

        return decorate

    def create(self, name: str, **kwargs: Any) -> Component:
        """Instantiate ``name`` with ``kwargs``; bad kwargs raise ``ConfigError`` naming them."""
        cls = self.get(name)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{self.stage}.component {name}: {exc}") from exc

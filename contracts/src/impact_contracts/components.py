"""The component interface and the name → class catalog stages pick components from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from impact_contracts.errors import ConfigError


@runtime_checkable
class Component(Protocol):
    """A pure pipeline stage: one event in, one result out, no Kafka, usable in a notebook."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]: ...


C = TypeVar("C", bound=type)


class ComponentCatalog:
    """Maps configuration names (e.g. ``MinimaxRegretAllocate``) to component classes."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._classes: dict[str, type] = {}

    def register(self, name: str | None = None) -> Callable[[C], C]:
        """Class decorator: ``@catalog.register()`` registers under the class name."""

        def decorate(cls: C) -> C:
            key = name or cls.__name__
            if key in self._classes and self._classes[key] is not cls:
                raise ConfigError(f"{self.stage}: component {key!r} is already registered")
            self._classes[key] = cls
            return cls

        return decorate

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> type:
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(
                f"{self.stage}.component: unknown component {name!r}; known: {known}"
            ) from None

    def create(self, name: str, **kwargs: Any) -> Component:
        """Instantiate ``name`` with ``kwargs``; bad kwargs raise ``ConfigError`` naming them."""
        cls = self.get(name)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{self.stage}.component {name}: {exc}") from exc

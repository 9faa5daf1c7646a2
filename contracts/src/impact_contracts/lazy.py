"""Package attributes imported from their modules on first use (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def load_lazily(
    package: str, homes: Mapping[str, str], name: str, *, first: str | None = None
) -> Any:
    """``name`` from its module ``homes[name]``, for a package's ``__getattr__``; ``first``
    is imported before it (e.g. the module where built-in components register).

    Raises:
        AttributeError: when ``name`` is not one of ``homes``.
    """
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    if first is not None:
        importlib.import_module(first)
    return getattr(importlib.import_module(home), name)


def lazy_getattr(
    package: str, homes: Mapping[str, str], *, first: str | None = None
) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` that loads each of ``homes`` on first use."""

    def __getattr__(name: str) -> Any:
        return load_lazily(package, homes, name, first=first)

    return __getattr__

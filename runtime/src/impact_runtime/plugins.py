"""``IMPACT_PLUGINS``: modules a service imports before it starts (e.g. extra components
that register themselves by name in a stage catalog)."""

from __future__ import annotations

import importlib

from impact_contracts import ConfigError


def load_plugins(modules: str) -> list[str]:
    """Import every module of the comma-separated ``modules``; return their names.

    Raises:
        ConfigError: a module cannot be imported (the message names it).
    """
    names = [name.strip() for name in modules.split(",") if name.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"IMPACT_PLUGINS: cannot import {name!r}: {exc}") from exc
    return names

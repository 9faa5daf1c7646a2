"""Where results go after measuring: a JSON-lines file, or nowhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from impact_measure.registry import AdapterRegistry

RESULTS_FILE = "measure_results.jsonl"


class Storage(Protocol):
    """Appends one measurement record."""

    def store(self, record: dict[str, Any]) -> None: ...


STORAGES: AdapterRegistry[Callable[[str], Storage]] = AdapterRegistry(
    "storage scheme", "storage_url"
)
register_storage = STORAGES.register


class NullStorage:
    """No ``storage_url``: results are only returned."""

    def __init__(self, location: str = "") -> None:
        self.location = location

    def store(self, record: dict[str, Any]) -> None:
        return None


@register_storage("file")
class JsonLinesStorage:
    """Appends each record as one JSON line to ``<dir>/measure_results.jsonl``."""

    def __init__(self, location: str) -> None:
        self.path = Path(location) / RESULTS_FILE

    def store(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def open_storage(storage_url: str | None) -> Storage:
    """``None`` → ``NullStorage``; ``file:///dir`` or a plain directory → ``JsonLinesStorage``."""
    if not storage_url:
        return NullStorage()
    parsed = urlparse(storage_url)
    scheme = parsed.scheme or "file"
    location = parsed.path if parsed.scheme else storage_url
    return STORAGES.get(scheme)(location)

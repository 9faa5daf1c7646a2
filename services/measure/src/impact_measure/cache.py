"""A content-addressed cache of measure results under the operator's storage root.

The key is the SHA-256 of a canonical JSON document: the initiative id (its bootstrap seed
derives from it), the phase, the event's seed and sample size, the measure config as
parsed for that phase (``SCALE`` merged in, then dropped) with every file path replaced by
the file's content hash, and the code version (package versions of the measure stage and
its numeric libraries, plus a hash of the stage's source: the model's own module and every
module that is not a model). Equal keys give equal results, so replicas filling one key
write the same bytes; writes go to a unique temporary file renamed into place (atomic).
Sources other than ``simulator`` and ``file`` have no fingerprint: they are never cached.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from impact_contracts import MeasureResult
from pydantic import ValidationError

from impact_measure.config import MeasureConfig
from impact_measure.models import MODELS
from impact_measure.sources.files import resolve_inside
from impact_measure.storage import make_directory, storage_root

CACHE_DIR = "measure-cache"
#: Bump to invalidate every entry (a change of the key or entry format).
FORMAT_VERSION = 1
PACKAGES = ("impact-measure", "impact-contracts", "numpy", "pandas", "scipy", "statsmodels")
PACKAGE_DIR = Path(__file__).resolve().parent


class FitCounter:
    """How many measurements ran (``fit``) or came from the cache (``hit``), by model."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str, model: str) -> None:
        with self._lock:
            self._counts[kind, model] += 1

    def total(self, kind: str) -> int:
        with self._lock:
            return sum(n for (k, _), n in self._counts.items() if k == kind)


#: Process-wide counts (embedded mode and tests read them).
COUNTS = FitCounter()


@dataclass
class Observation:
    """Whether the measurement made inside :func:`observe` came from the cache."""

    cached: bool = False


_OBSERVATION: ContextVar[Observation | None] = ContextVar("measure_observation", default=None)


@contextmanager
def observe() -> Iterator[Observation]:
    """Learn whether a component's ``execute`` inside the block reused a cached result
    (the component calls :func:`mark_cached`); works through subclasses that wrap it."""
    observation = Observation()
    token = _OBSERVATION.set(observation)
    try:
        yield observation
    finally:
        _OBSERVATION.reset(token)


def mark_cached() -> None:
    """Record a cache hit for the enclosing :func:`observe` block, if any."""
    if (observation := _OBSERVATION.get()) is not None:
        observation.cached = True


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


@cache
def code_version(model: str) -> dict[str, Any]:
    """Package versions and a hash of the source the model's result depends on."""
    model_file = Path(inspect.getfile(MODELS.get(model))).resolve()
    other_models = {Path(inspect.getfile(MODELS.get(name))).resolve() for name in MODELS.names()}
    other_models.discard(model_file)
    files = sorted(path for path in PACKAGE_DIR.rglob("*.py") if path.resolve() not in other_models)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return {
        "packages": {name: _version(name) for name in PACKAGES},
        "source": digest.hexdigest(),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def data_fingerprint(config: MeasureConfig, data_root: Path | None) -> dict[str, Any] | None:
    """The source config with file paths replaced by content hashes; ``None`` when the
    source cannot be fingerprinted (unknown type, missing or unreadable file): not cached."""
    source = config.DATA.SOURCE
    if source.type == "simulator":
        return source.model_dump()
    path = source.CONFIG.get("path")
    if source.type != "file" or not isinstance(path, str):
        return None
    try:
        content = _file_digest(resolve_inside(path, data_root))
    except (OSError, ValueError):
        return None
    return {"type": "file", "CONFIG": {**source.CONFIG, "path": content}}


def cache_key(
    request: dict[str, Any], config: MeasureConfig, data_root: Path | None
) -> tuple[str, dict[str, Any]] | None:
    """``(key, material)`` for a validated request and its phase's config, or ``None``."""
    data = data_fingerprint(config, data_root)
    if data is None:
        return None
    material = {
        "format": FORMAT_VERSION,
        "initiative_id": request["initiative_id"],
        "phase": request["phase"],
        "seed": request["seed"],
        "sample_size": request["sample_size"],
        "data": data,
        "transform": config.DATA.model_dump()["TRANSFORM"],
        "measurement": config.MEASUREMENT.model_dump(),
        "code": code_version(config.MEASUREMENT.MODEL),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest(), material


class ResultCache:
    """``get(key)``/``put(key, material, result)`` of files under ``<root>/measure-cache``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or storage_root()).resolve()
        self.directory = self.root / CACHE_DIR

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached result, or ``None`` (absent, or unreadable: then it is refilled)."""
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
            return MeasureResult.model_validate(entry["result"]).model_dump()
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None

    def put(self, key: str, material: dict[str, Any], result: dict[str, Any]) -> None:
        """Write the entry whole to a unique temporary file, then rename it into place."""
        target = self.path(key)
        make_directory(target.parent, self.root)
        text = json.dumps({"key": material, "result": result}, sort_keys=True, default=str)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from other replicas
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

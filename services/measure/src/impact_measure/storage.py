"""Where results are written: only under the operator's storage root.

The operator sets the root (``IMPACT_STORAGE_ROOT``, default ``var/storage`` under the
working directory); a manifest may only name a relative sub-path of it. The same check
runs when a manifest is published and again before every write (defence in depth).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Protocol

from impact_contracts import ConfigError

STORAGE_ROOT_ENV = "IMPACT_STORAGE_ROOT"
DEFAULT_STORAGE_ROOT = "var/storage"
RESULTS_FILE = "measure_results.jsonl"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def storage_root() -> Path:
    """The operator's storage root (``$IMPACT_STORAGE_ROOT`` or ``var/storage``), absolute."""
    return Path(os.environ.get(STORAGE_ROOT_ENV) or DEFAULT_STORAGE_ROOT).resolve()


def relative_path_problem(sub_path: Any) -> str | None:
    """Why ``sub_path`` is not a plain relative path (non-string, empty, URL, absolute,
    ``..``), or ``None``; also what an object-store root (S3) accepts."""
    if not isinstance(sub_path, str) or not sub_path.strip():
        return "must be a non-empty relative path inside the storage root"
    if PurePosixPath(sub_path).is_absolute() or PureWindowsPath(sub_path).anchor:
        return f"must be a relative path inside the storage root, got absolute {sub_path!r}"
    if _URL.match(sub_path):
        return f"must be a relative path inside the storage root, got a URL {sub_path!r}"
    if ".." in PurePosixPath(sub_path.replace("\\", "/")).parts:
        return f"must not contain '..', got {sub_path!r}"
    return None


def storage_problem(sub_path: Any, root: Path) -> str | None:
    """Why ``sub_path`` is not an acceptable location under ``root``, or ``None``.

    Rejected: non-strings, empty strings, URLs, absolute paths, ``..`` and paths whose
    existing part leads outside ``root`` through a symlink.
    """
    problem = relative_path_problem(sub_path)
    if problem is not None or not isinstance(sub_path, str):
        return problem
    resolved = (root / sub_path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        return f"leaves the storage root through a symlink: {sub_path!r} -> {resolved}"
    return None


def confine(sub_path: Any, root: Path | None = None, key: str = "storage_url") -> Path:
    """``root / sub_path`` (default root: :func:`storage_root`), checked by
    :func:`storage_problem`.

    Raises:
        ConfigError: ``"<key>: <reason>"`` when the path is not acceptable.
    """
    root = (root or storage_root()).resolve()
    problem = storage_problem(sub_path, root)
    if problem is not None:
        raise ConfigError(f"{key}: {problem}")
    return (root / sub_path).resolve()


def make_directory(directory: Path, root: Path) -> Path:
    """Create ``directory`` and check again that it lies inside ``root`` (a symlink may
    have been swapped in since :func:`confine` checked it)."""
    directory.mkdir(parents=True, exist_ok=True)
    if not directory.resolve().is_relative_to(root.resolve()):
        raise ConfigError(f"storage_url: {directory} leaves the storage root {root}")
    return directory


def write_atomically(path: Path, text: str, root: Path) -> None:
    """Replace ``path`` (inside ``root``) with ``text``: a temporary file, then a rename,
    so a reader never sees half a file and a rewrite never duplicates content."""
    make_directory(path.parent, root)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Storage(Protocol):
    """Keeps one measurement record."""

    def store(self, record: dict[str, Any]) -> None: ...


class NullStorage:
    """No ``storage_url``: results are only returned."""

    def store(self, record: dict[str, Any]) -> None:
        return None


class JsonLinesStorage:
    """Appends each record as one JSON line to ``<root>/<storage_url>/measure_results.jsonl``.

    At-least-once: a redelivered command appends its record again (the run archive,
    ``impact_orchestrator.archive``, is exact)."""

    def __init__(self, storage_url: str, root: Path | None = None) -> None:
        self.root = (root or storage_root()).resolve()
        self.path = confine(storage_url, self.root) / RESULTS_FILE

    def store(self, record: dict[str, Any]) -> None:
        make_directory(self.path.parent, self.root)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def open_storage(storage_url: str | None, root: Path | None = None) -> Storage:
    """``None`` → :class:`NullStorage`; a relative path → :class:`JsonLinesStorage` under
    ``root`` (default: the operator's :func:`storage_root`)."""
    if storage_url is None:
        return NullStorage()
    return JsonLinesStorage(storage_url, root)

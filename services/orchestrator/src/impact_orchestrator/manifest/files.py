"""Reading YAML files named by a manifest, with paths confined to a data root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from impact_orchestrator.manifest.errors import ErrorCollector


@dataclass(frozen=True)
class DataRoot:
    """Resolves the paths a file names, relative to that file, inside ``root``."""

    root: Path
    errors: ErrorCollector

    def display(self, path: Path) -> str:
        """How a file is named in error messages: relative to the root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def resolve(
        self, value: Any, *, named_by: Path, key: str, must_exist: bool = True
    ) -> Path | None:
        """Resolve ``value`` (a path written in ``named_by``); record an error and return
        ``None`` when it is not a string, escapes the data root or does not exist."""
        file = self.display(named_by)
        if not isinstance(value, str) or not value.strip():
            self.errors.add(file, key, "must be a non-empty path string")
            return None
        path = (named_by.parent / value).resolve()
        if not path.is_relative_to(self.root):
            self.errors.add(file, key, f"path escapes the data root {self.root}: {value}")
            return None
        if must_exist and not path.is_file():
            self.errors.add(file, key, f"file not found: {value}")
            return None
        return path

    def load_mapping(self, path: Path, *, named_by: Path | None = None, key: str = "") -> Any:
        """Parse a YAML file that must hold a mapping; ``None`` (and an error) otherwise."""
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            where = self.display(named_by) if named_by else self.display(path)
            reason = f"cannot read {self.display(path)}: {_first_line(exc)}"
            self.errors.add(where, key, reason)
            return None
        if not isinstance(content, dict):
            self.errors.add(self.display(path), "", "must contain a YAML mapping")
            return None
        return content


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

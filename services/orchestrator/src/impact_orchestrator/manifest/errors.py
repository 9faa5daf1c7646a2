"""Collects manifest problems as ``<file>: <key path>: <reason>`` lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from impact_contracts import ConfigError
from pydantic import ValidationError


class ManifestError(ConfigError):
    """A manifest (or a file it names) is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid manifest:\n" + "\n".join(f"  {e}" for e in self.errors))


def key_path(*parts: str | int) -> str:
    """Render ``("INITIATIVES", 3, "measure_config")`` as ``INITIATIVES[3].measure_config``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _bound(value: Any) -> Any:
    """``0.0`` reads better as ``0`` in a message."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _reason(error: Any) -> str:
    """A short, user-facing reason for one pydantic error."""
    kind = error["type"]
    ctx = {k: _bound(v) for k, v in (error.get("ctx") or {}).items()}
    got = f", got {_bound(error.get('input'))}"
    reasons = {
        "missing": "required key is missing",
        "extra_forbidden": "unknown key",
        "greater_than": f"must be > {ctx.get('gt')}{got}",
        "greater_than_equal": f"must be >= {ctx.get('ge')}{got}",
        "less_than": f"must be < {ctx.get('lt')}{got}",
        "less_than_equal": f"must be <= {ctx.get('le')}{got}",
        "string_too_short": "must not be empty",
        "too_short": f"must have at least {ctx.get('min_length')} item(s)",
        "too_long": f"must have at most {ctx.get('max_length')} item(s)",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be an integer",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number",
        "string_type": "must be a string",
        "dict_type": "must be a mapping",
        "model_type": "must be a mapping",
        "model_attributes_type": "must be a mapping",
        "list_type": "must be a list",
        "literal_error": f"must be one of {ctx.get('expected')}",
        "value_error": str(ctx.get("error")),
    }
    return reasons.get(kind, str(error["msg"]))


class ErrorCollector:
    """Accumulates errors so a user sees every problem in one pass; after ``shown``
    errors the rest are only counted (a 100,000-initiative manifest may have as many)."""

    def __init__(self, shown: int = 100) -> None:
        self.errors: list[str] = []
        self.count = 0
        self.shown = shown
        self.first_file = ""

    def add(self, file: str, path: str, reason: str) -> None:
        self.count += 1
        self.first_file = self.first_file or file
        if self.count <= self.shown:
            self.errors.append(f"{file}: {path}: {reason}" if path else f"{file}: {reason}")

    def add_validation(self, file: str, prefix: Sequence[str | int], exc: ValidationError) -> None:
        """Record every error of a pydantic ``ValidationError`` under ``prefix``."""
        for error in exc.errors():
            loc = [p for p in error["loc"] if isinstance(p, str | int)]
            self.add(file, key_path(*prefix, *loc), _reason(error))

    def raise_if_any(self) -> None:
        if self.count:
            hidden = self.count - len(self.errors)
            more = [f"{self.first_file}: {hidden} more error(s) not shown"] if hidden else []
            raise ManifestError(self.errors + more)

"""The building blocks of the compiled converters in ``events``: the error of a value that
breaks its schema (its path collected while it unwinds), array and map steps, and the check
of a nested record against its pydantic contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

Step = Callable[[Any], Any]
"""One value along its schema inside a compiled converter; a bad value raises
``Invalid``, whose path is collected while it unwinds (none is built on the way down)."""


class Invalid(Exception):
    """A value that breaks its schema: ``message(path)`` once the path is known."""

    def __init__(self, message: Callable[[str], str]) -> None:
        super().__init__()
        self.message = message
        self.parts: list[str] = []  # innermost first: "measure_config", "[1]", "initiatives"

    def at(self, part: str) -> Invalid:
        self.parts.append(part)
        return self

    def path(self, base: str) -> str:
        """The dotted path of the bad value below ``base`` (field ``.name``, item ``[i]``)."""
        path = base
        for part in reversed(self.parts):
            path = f"{path}{part}" if part.startswith("[") or not path else f"{path}.{part}"
        return path


def array_step(item: Step) -> Step:
    def array(value: Any) -> Any:
        out: list[Any] = []
        try:
            for v in value:
                out.append(None if v is None else item(v))
        except Invalid as exc:  # the failing item is the next one: len(out)
            raise exc.at(f"[{len(out)}]") from exc.__cause__
        return out

    return array


def map_step(values: Step) -> Step:
    def mapping(value: Any) -> Any:
        out: dict[Any, Any] = {}
        key = None
        try:
            for key, v in value.items():
                out[key] = None if v is None else values(v)
        except Invalid as exc:
            raise exc.at(f"[{key}]") from exc.__cause__
        return out

    return mapping


def validate_contract(event: str, contract: type[BaseModel], value: dict[str, Any]) -> None:
    try:
        contract.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors()

        def message(path: str) -> str:
            problems = "; ".join(
                f"{_dotted(path, err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                for err in errors
            )
            return f"{event}: {contract.__name__}: {problems}"

        raise Invalid(message) from exc


def _dotted(path: str, loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in (path, *loc) if part != "")

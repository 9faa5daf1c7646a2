"""Reading the YAML files a manifest names: size-limited, UTF-8, parsed once each by
libyaml when available, with paths confined to a data root."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from impact_orchestrator.manifest.errors import ErrorCollector
from impact_orchestrator.manifest.limits import Limits

#: libyaml's parser (about 5x faster), else PyYAML's pure-Python one; same results.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Unreadable(ValueError):
    """A file that cannot be used; the message is a one-line reason."""


def decode_utf8(data: bytes) -> str:
    """``data`` as text (a UTF-8 byte-order mark is dropped).

    Raises:
        Unreadable: ``not valid UTF-8: byte 0xe9 at offset 17 (line 2)``.
    """
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise Unreadable(
            f"not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset} (line {line})"
        ) from None


def parse_yaml(text: str, max_values: int) -> Any:
    """Parse one YAML document; a JSON document (JSON is YAML) takes a fast path.

    Raises:
        Unreadable: a syntax error (with line and column), nesting too deep for the
            parser, or aliases expanding to more than ``max_values`` values.
    """
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # a YAML flow mapping, or invalid: the YAML parser says which
    try:
        content = yaml.load(text, Loader=YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Unreadable(f"invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise Unreadable(f"invalid YAML: {_first_line(exc)}") from None
    except RecursionError:
        raise Unreadable("invalid YAML: nested too deeply") from None
    if "*" in text and _expands_beyond(content, max_values):
        raise Unreadable(f"YAML aliases expand to more than {max_values} values")
    return content


def _expands_beyond(content: Any, budget: int) -> bool:
    """Whether ``content`` holds more than ``budget`` values, counting every alias again."""
    stack, seen = [content], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > budget:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def read_yaml(path: Path, max_bytes: int, max_values: int) -> Any:
    """The parsed content of ``path``; its size is checked before anything is parsed.

    Raises:
        Unreadable: too large, unreadable, not UTF-8 or not valid YAML.
        OSError: the file cannot be opened.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise Unreadable(f"file too large: {size} bytes, limit {max_bytes}")
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)  # the file may have grown since stat
    if len(data) > max_bytes:
        raise Unreadable(f"file too large: more than {max_bytes} bytes")
    return parse_yaml(decode_utf8(data), max_values)


@dataclass(frozen=True)
class DataRoot:
    """Resolves the paths a file names, relative to that file, inside ``root``; reads
    each named file once."""

    root: Path
    errors: ErrorCollector
    limits: Limits = field(default_factory=Limits)
    #: resolved paths, parsed files and checked measure configs
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)

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
        if not isinstance(value, str) or not value.strip():
            self.errors.add(self.display(named_by), key, "must be a non-empty path string")
            return None
        cache_key = ("path", named_by, value, must_exist)
        if cache_key not in self.cache:  # 100,000 initiatives may name the same file
            self.cache[cache_key] = self._locate(named_by.parent / value, value, must_exist)
        path, problem = self.cache[cache_key]
        if problem is not None:
            self.errors.add(self.display(named_by), key, problem)
        return path

    def _locate(
        self, candidate: Path, value: str, must_exist: bool
    ) -> tuple[Path | None, str | None]:
        path = candidate.resolve()
        if not path.is_relative_to(self.root):
            return None, f"path escapes the data root {self.root}: {value}"
        if must_exist and not path.is_file():
            return None, f"file not found: {value}"
        return path, None

    def load_mapping(self, path: Path, *, named_by: Path | None = None, key: str = "") -> Any:
        """Parse a YAML file that must hold a mapping; ``None`` (and an error) otherwise.

        The manifest itself (no ``named_by``) may be ``limits.manifest_bytes`` long, a
        file it names ``limits.file_bytes``. Problems in a named file are reported at the
        key naming it: ``manifest.yaml: MEASURE: cannot read stages/m.yaml: <reason>``.
        """
        cache_key = ("yaml", path)
        if cache_key in self.cache:
            return self.cache[cache_key]
        max_bytes = self.limits.file_bytes if named_by else self.limits.manifest_bytes
        content: Any = None
        try:
            content = read_yaml(path, max_bytes, self.limits.yaml_values)
        except (OSError, Unreadable) as exc:
            reason = _first_line(exc)
            if named_by is None:
                self.errors.add(self.display(path), "", reason)
            else:
                reason = f"cannot read {self.display(path)}: {reason}"
                self.errors.add(self.display(named_by), key, reason)
        else:
            if not isinstance(content, dict):
                self.errors.add(self.display(path), "", "must contain a YAML mapping")
                content = None
        self.cache[cache_key] = content
        return content


def _first_line(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

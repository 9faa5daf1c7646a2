"""Source ``file``: a CSV or Parquet table, confined to the component's data root."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import ClassVar

import pandas as pd
from impact_contracts import ConfigError
from pydantic import Field, field_validator

from impact_measure.config import Section, validate_section
from impact_measure.sources import LoadRequest, register_source
from impact_measure.values import examples, short_reason

CONFIG_PATH = "DATA.SOURCE.CONFIG"
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = (*CSV_SUFFIXES, *PARQUET_SUFFIXES)
LIKELY_SEPARATORS = (";", "\t", "|")


class CsvOptions(Section):
    """``CONFIG.csv``: how the CSV is written (passed to ``pandas.read_csv``)."""

    sep: str = Field(default=",", min_length=1)
    decimal: str = Field(default=".", min_length=1, max_length=1)
    thousands: str | None = Field(default=None, min_length=1, max_length=1)
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, latin-1, cp1252)") from None
        return value


class FileConfig(Section):
    """``DATA.SOURCE.CONFIG`` of the file source.

    ``date_columns`` maps columns to parse as dates to their format (``"%d/%m/%Y"``), or
    to ``null`` to let pandas infer it (ISO dates).
    """

    path: str
    csv: CsvOptions | None = None
    date_columns: dict[str, str | None] = Field(default_factory=dict)


def resolve_inside(path: str, data_root: Path | None) -> Path:
    """The real path of ``path`` (relative paths are taken from ``data_root``).

    Raises:
        ConfigError: when the resolved path (symlinks followed) leaves ``data_root``.
    """
    candidate = Path(path).expanduser()
    if data_root is None:
        return candidate.resolve()
    root = data_root.resolve()
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError(f"{CONFIG_PATH}.path: path escapes data root {root}: {path}")
    return resolved


def read_table(path: Path, cfg: FileConfig) -> pd.DataFrame:
    """The table at ``path``, read by its suffix with ``cfg.csv`` options.

    Raises:
        ConfigError: an unsupported suffix, CSV options for a Parquet file, or an
            unreadable file (the reason, e.g. the encoding, in the message).
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"{CONFIG_PATH}.path: unsupported file type {suffix!r} "
            f"(use one of {', '.join(SUFFIXES)}): {cfg.path}"
        )
    if suffix in PARQUET_SUFFIXES and cfg.csv is not None:
        raise ConfigError(f"{CONFIG_PATH}.csv: CSV options given for a Parquet file: {cfg.path}")
    if not path.is_file():
        raise ConfigError(f"{CONFIG_PATH}.path: file not found: {cfg.path}")
    try:
        if suffix in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        options = cfg.csv or CsvOptions()
        return pd.read_csv(path, **options.model_dump())
    except UnicodeDecodeError as exc:
        encoding = (cfg.csv or CsvOptions()).encoding
        raise ConfigError(
            f"{CONFIG_PATH}.csv.encoding: {cfg.path} is not {encoding} ({exc.reason} at byte "
            f"{exc.start}); set DATA.SOURCE.CONFIG.csv: {{encoding: latin-1}} or the file's own"
        ) from None
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{CONFIG_PATH}.path: cannot read {cfg.path}: {reason}") from None


def check_separator(frame: pd.DataFrame, cfg: FileConfig) -> None:
    """A CSV read as one column whose name holds ``;``, tab or ``|`` has another separator."""
    if frame.shape[1] != 1 or (cfg.csv is not None and cfg.csv.sep != ","):
        return
    header = str(frame.columns[0])
    for separator in LIKELY_SEPARATORS:
        if separator in header:
            raise ConfigError(
                f"{CONFIG_PATH}.csv.sep: {cfg.path} reads as one column {header!r}; its "
                f"separator looks like {separator!r}: set DATA.SOURCE.CONFIG.csv: "
                f"{{sep: {separator!r}}}"
            )


def parse_dates(frame: pd.DataFrame, cfg: FileConfig) -> pd.DataFrame:
    """``frame`` with each of ``cfg.date_columns`` parsed by its format.

    Raises:
        ConfigError: a missing column, or a value that does not match the format.
    """
    parsed = {}
    for name, date_format in cfg.date_columns.items():
        key = f"{CONFIG_PATH}.date_columns.{name}"
        if name not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise ConfigError(f"{key}: column {name!r} not in {cfg.path} (columns: {columns})")
        try:
            parsed[name] = pd.to_datetime(frame[name], format=date_format)
        except (TypeError, ValueError) as exc:
            reason = short_reason(exc)
            raise ConfigError(
                f"{key}: column {name!r} of {cfg.path} does not read as dates with format "
                f"{date_format!r} ({examples(frame[name], 3)}): {reason}"
            ) from None
    return frame.assign(**parsed) if parsed else frame


@register_source("file")
class FileSource:
    """Reads ``CONFIG.path`` by extension (``.csv``, ``.parquet``), with ``CONFIG.csv``
    reading options and ``CONFIG.date_columns`` parsed as dates.

    A file is what it is: ``sample_size`` is not used, and the scale phase reads the
    file named in the config's ``SCALE`` section (``require_scale_data``).
    """

    draws_scale_sample: ClassVar[bool] = False

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        cfg = validate_section(FileConfig, config, CONFIG_PATH)
        frame = read_table(resolve_inside(cfg.path, request.data_root), cfg)
        check_separator(frame, cfg)
        return parse_dates(frame, cfg)

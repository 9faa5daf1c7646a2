"""Source ``file``: a CSV or Parquet table, confined to the component's data root."""

from __future__ import annotations

import codecs
from pathlib import Path, PurePosixPath
from typing import BinaryIO, ClassVar

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


class DateColumns(Section):
    """``date_columns``: columns to parse as dates, each mapped to its format
    (``"%d/%m/%Y"``), or to ``null`` to let pandas infer it (ISO dates)."""

    date_columns: dict[str, str | None] = Field(default_factory=dict)


class TableOptions(DateColumns):
    """How a CSV or Parquet table is read: ``csv`` options (CSV only) and date columns."""

    csv: CsvOptions | None = None


class FileConfig(TableOptions):
    """``DATA.SOURCE.CONFIG`` of the file source: ``path`` plus the table options."""

    path: str


#: How an operator sets the services' data root (docs/deployment.md).
DATA_ROOT_HINT = (
    "set the services' data root with `impact up --data-root DIR` or, on Docker Compose, "
    "IMPACT_DATA_ROOT=DIR; or put the data in S3 or SQL"
)


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
        raise ConfigError(
            f"{CONFIG_PATH}.path: path escapes data root {root}: {path} ({DATA_ROOT_HINT})"
        )
    return resolved


def read_table(path: Path, cfg: FileConfig) -> pd.DataFrame:
    """The table at ``path``, read by its suffix with ``cfg.csv`` options.

    Raises:
        ConfigError: an unsupported suffix, CSV options for a Parquet file, a missing
            or unreadable file (the reason, e.g. the encoding, in the message).
    """
    table_suffix(cfg.path, cfg, "path")
    if not path.is_file():
        raise ConfigError(f"{CONFIG_PATH}.path: file not found: {cfg.path}")
    return read_frame(path, cfg.path, cfg, "path")


def table_suffix(name: str, cfg: TableOptions, key: str) -> str:
    """The suffix of ``name`` (``.csv``, ``.parquet``, ``.pq``), checked against ``cfg``.

    Raises:
        ConfigError: an unsupported suffix, or CSV options for a Parquet table.
    """
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"{CONFIG_PATH}.{key}: unsupported file type {suffix!r} "
            f"(use one of {', '.join(SUFFIXES)}): {name}"
        )
    if suffix in PARQUET_SUFFIXES and cfg.csv is not None:
        raise ConfigError(f"{CONFIG_PATH}.csv: CSV options given for a Parquet file: {name}")
    return suffix


def read_frame(source: Path | BinaryIO, name: str, cfg: TableOptions, key: str) -> pd.DataFrame:
    """Read ``source`` (a path or a binary stream holding ``name``) as a table, then check
    its separator and parse its date columns.

    Raises:
        ConfigError: unreadable content, a wrong encoding or separator, bad dates.
    """
    try:
        if table_suffix(name, cfg, key) in PARQUET_SUFFIXES:
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_csv(source, **(cfg.csv or CsvOptions()).model_dump())
    except UnicodeDecodeError as exc:
        encoding = (cfg.csv or CsvOptions()).encoding
        raise ConfigError(
            f"{CONFIG_PATH}.csv.encoding: {name} is not {encoding} ({exc.reason} at byte "
            f"{exc.start}); set DATA.SOURCE.CONFIG.csv: {{encoding: latin-1}} or the file's own"
        ) from None
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{CONFIG_PATH}.{key}: cannot read {name}: {reason}") from None
    check_separator(frame, cfg, name)
    return parse_dates(frame, cfg, name)


def check_separator(frame: pd.DataFrame, cfg: TableOptions, name: str) -> None:
    """A CSV read as one column whose name holds ``;``, tab or ``|`` has another separator."""
    if frame.shape[1] != 1 or (cfg.csv is not None and cfg.csv.sep != ","):
        return
    header = str(frame.columns[0])
    for separator in LIKELY_SEPARATORS:
        if separator in header:
            raise ConfigError(
                f"{CONFIG_PATH}.csv.sep: {name} reads as one column {header!r}; its "
                f"separator looks like {separator!r}: set DATA.SOURCE.CONFIG.csv: "
                f"{{sep: {separator!r}}}"
            )


def parse_dates(frame: pd.DataFrame, cfg: DateColumns, name: str) -> pd.DataFrame:
    """``frame`` with each of ``cfg.date_columns`` parsed by its format.

    Raises:
        ConfigError: a missing column, or a value that does not match the format.
    """
    parsed = {}
    for column, date_format in cfg.date_columns.items():
        key = f"{CONFIG_PATH}.date_columns.{column}"
        if column not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise ConfigError(f"{key}: column {column!r} not in {name} (columns: {columns})")
        try:
            parsed[column] = pd.to_datetime(frame[column], format=date_format)
        except (TypeError, ValueError) as exc:
            reason = short_reason(exc)
            raise ConfigError(
                f"{key}: column {column!r} of {name} does not read as dates with format "
                f"{date_format!r} ({examples(frame[column], 3)}): {reason}"
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
    Config: ClassVar[type[Section]] = FileConfig

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        cfg = validate_section(FileConfig, config, CONFIG_PATH)
        return read_table(resolve_inside(cfg.path, request.data_root), cfg)

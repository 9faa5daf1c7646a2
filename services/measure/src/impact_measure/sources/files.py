"""Source ``file``: a CSV or Parquet table, confined to the component's data root."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd
from impact_contracts import ConfigError

from impact_measure.config import Section, validate_section
from impact_measure.sources import LoadRequest, register_source

CONFIG_PATH = "DATA.SOURCE.CONFIG"
READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


class FileConfig(Section):
    """``DATA.SOURCE.CONFIG`` of the file source."""

    path: str


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


@register_source("file")
class FileSource:
    """Reads ``CONFIG.path`` by extension (``.csv``, ``.parquet``).

    A file is what it is: ``sample_size`` is not used, and the scale phase reads the
    file named in the config's ``SCALE`` section (``require_scale_data``).
    """

    draws_scale_sample: ClassVar[bool] = False

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        cfg = validate_section(FileConfig, config, CONFIG_PATH)
        path = resolve_inside(cfg.path, request.data_root)
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise ConfigError(
                f"{CONFIG_PATH}.path: unsupported file type {path.suffix!r} "
                f"(use one of {', '.join(READERS)}): {cfg.path}"
            )
        if not path.is_file():
            raise ConfigError(f"{CONFIG_PATH}.path: file not found: {cfg.path}")
        try:
            frame = reader(path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{CONFIG_PATH}.path: cannot read {cfg.path}: {exc}") from exc
        return frame

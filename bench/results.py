"""Benchmark output: a Markdown table on stdout and a JSON file under ``bench/results/``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.machine import ROOT, machine

RESULTS_DIR = ROOT / "bench" / "results"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats keep the precision the caller formatted."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100), linear interpolation between samples."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def write_result(name: str, method: str, results: Any, started: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``: machine at start and end, method, results."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "machine": started,
        "load_average_at_end": machine()["load_average"],
        "method": method,
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path

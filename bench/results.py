"""Benchmark output: a Markdown table on stdout and a JSON file under ``bench/results/``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
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


def sizes_main(
    name: str, method: str, doc: str, sizes: Sequence[int], bench: Callable[[int], dict[str, Any]]
) -> None:
    """The CLI of a benchmark that runs once per size (``--sizes``): print a table of the
    result rows and write ``bench/results/<name>.json``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(sizes))
    args = parser.parse_args()
    started = machine()
    results = [bench(n) for n in args.sizes]
    headers = list(results[0])
    print(markdown_table(headers, [[r[h] for h in headers] for r in results]))
    print(write_result(name, method, results, started))

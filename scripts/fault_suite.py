#!/usr/bin/env python3
"""Run the fault-injection suite and write its table into docs/reliability.md.

    uv run python scripts/fault_suite.py                 # run, then write the table
    IMPACT_FAULT_SEED=123 uv run python scripts/fault_suite.py -k kills   # replay a seed
    uv run python scripts/fault_suite.py --render-only   # table from the last run's rows

The tests (``pytest -m faults``) append one JSON row per fault to
``var/faults/rows.jsonl`` (``IMPACT_FAULT_REPORT``); pytest's JUnit XML says which passed.
The table goes between the ``fault-table`` markers of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "faults"
ROWS = OUT / "rows.jsonl"
JUNIT = OUT / "junit.xml"
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- fault-table:start -->", "<!-- fault-table:end -->"
SUITE = "tests/integration/test_faults_*.py"
HARNESS = "tests/integration/test_faults_harness.py"
HARNESS_CHECK = "(a check of the harness's own counting: no fault)"


def run_suite(pytest_args: list[str]) -> int:
    """Run the fault tests; return pytest's exit code."""
    OUT.mkdir(parents=True, exist_ok=True)
    ROWS.unlink(missing_ok=True)
    env = {**os.environ, "IMPACT_FAULT_REPORT": str(ROWS)}
    tests = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(SUITE))
    command = [sys.executable, "-m", "pytest", "-m", "faults", *tests, f"--junitxml={JUNIT}"]
    command += ["-p", "no:cacheprovider", "-q", *pytest_args]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def outcomes() -> dict[str, str]:
    """Test node id → passed / failed / error / skipped, from the JUnit XML."""
    if not JUNIT.exists():
        return {}
    found = {}
    for case in ET.parse(JUNIT).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"
        node = f"{path}::{case.get('name')}"
        kinds = {child.tag for child in case}
        found[node] = next(
            (tag for tag in ("failure", "error", "skipped") if tag in kinds), "passed"
        ).replace("failure", "failed")
    return found


def rows() -> list[dict[str, Any]]:
    if not ROWS.exists():
        return []
    return [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]


def _cell(value: Any) -> str:
    return "—" if value is None else str(value)


def reproduce(row: dict[str, Any]) -> str:
    seed = f"IMPACT_FAULT_SEED={row['seed']} " if row.get("seed") is not None else ""
    return f"`{seed}uv run pytest '{row['test']}'`"


def table(found: list[dict[str, Any]], results: dict[str, str]) -> str:
    """The markdown table: one line per fault row, plus tests that wrote no row."""
    head = [
        "| fault | what | times | lost | duplicated | longest stall (s) | result | reproduce |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    lines = []
    for row in found:
        lines.append(
            f"| {row['fault']} | {row['what']} | {row['times']} | {row['lost']} | "
            f"{row['duplicated']} | {_cell(row['longest_stall_s'])} | "
            f"{results.get(row['test'], '?')} | {reproduce(row)} |"
        )
    reported = {row["test"] for row in found}
    for node, result in sorted(results.items()):
        if node not in reported:
            name = node.split("::")[-1].removeprefix("test_").replace("_", " ")
            what = HARNESS_CHECK if node.startswith(HARNESS) else "(no row: the test stopped early)"
            lines.append(
                f"| {name} | {what} | — | — | — | — | {result} | `uv run pytest '{node}'` |"
            )
    return "\n".join(head + lines)


def render(found: list[dict[str, Any]], results: dict[str, str]) -> None:
    """Replace the table between the markers of docs/reliability.md."""
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {START} / {END} not found")
    passed = sum(1 for r in results.values() if r == "passed")
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    block = (
        f"{START}\nLast run: {stamp}, {passed}/{len(results)} tests passed.\n\n"
        f"{table(found, results)}\n{END}"
    )
    before, rest = text.split(START, 1)
    DOC.write_text(before + block + rest.split(END, 1)[1])
    print(f"wrote the table of {len(found)} faults into {DOC.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--render-only", action="store_true", help="do not run the tests")
    args, pytest_args = parser.parse_known_args(argv)
    code = 0 if args.render_only else run_suite(pytest_args)
    render(rows(), outcomes())
    return code


if __name__ == "__main__":
    sys.exit(main())

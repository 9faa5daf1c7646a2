"""Embedded mode on worker processes: the same report as on threads, the same
``stage_failed`` for a component error, counts and stragglers handled (real processes)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from impact_measure.cache import COUNTS
from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Catalogs, default_catalogs, load_manifest
from impact_orchestrator.worker_processes import PRELOAD, pickled_catalogs
from impact_orchestrator.workers import PROCESS_MIN_CALLS, EmbeddedStats

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.deadline_cases import straggler_manifest
from services.orchestrator.tests.fakes import measure_config
from services.orchestrator.tests.test_embedded_fakes import write_manifest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def with_a_bug(write_yaml: WriteYaml) -> Path:
    """The fakes manifest (``e`` fails its pilot) plus ``f``, whose scale fit is a bug."""
    path = write_manifest(write_yaml)
    raw = yaml.safe_load(path.read_text())
    raw["INITIATIVES"].append(
        {
            "initiative_id": "f",
            "cost_to_scale": 1.0,
            "measure_config": measure_config(effect=9.0, bug="scale"),
        }
    )
    return write_yaml("manifest.yaml", raw)


def test_processes_and_threads_give_the_same_report_and_failures(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = with_a_bug(write_yaml)
    on_processes, on_threads = EmbeddedStats(), EmbeddedStats()
    first = run_embedded(
        path, catalogs=catalogs, run_id="x", executor="process", stats=on_processes
    )
    second = run_embedded(path, catalogs=catalogs, run_id="x", executor="thread", stats=on_threads)
    assert first == second
    assert first["failures"][0] == {
        "initiative_id": "e",
        "stage": "measure",
        "reason": "cannot measure e",
    }
    bug = first["failures"][1]
    assert (bug["initiative_id"], bug["stage"]) == ("f", "scale")
    assert bug["reason"].startswith("unexpected IndexError: list index out of range at execute (")
    assert "fakes.py:" in bug["reason"]
    # measurements (6 pilots, 3 at scale: c, a, f) in processes, 5 evaluations and the
    # allocation on threads
    assert on_processes.calls == {"thread": 6, "process": 9}
    assert on_threads.calls == {"thread": 15, "process": 0}


def test_auto_keeps_small_runs_and_test_doubles_on_threads(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    stats = EmbeddedStats()
    run_embedded(write_manifest(write_yaml), catalogs=catalogs, max_workers=4, stats=stats)
    assert stats.calls["process"] == 0
    assert PROCESS_MIN_CALLS > 8


def test_worker_fits_are_counted_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "storage"))
    manifest = load_manifest(EXAMPLES / "manifest.yaml")
    fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
    stats = EmbeddedStats()
    run_embedded(manifest, run_id="counted", executor="process", stats=stats)
    assert stats.calls == {"thread": 8 + 1, "process": 8 + 5}
    assert (COUNTS.total("fit") - fits, COUNTS.total("hit") - hits) == (8 + 5, 0)
    assert stats.component_cpu_s["measure"] > 0.0


def test_a_straggler_in_a_worker_process_does_not_outlive_the_run(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = straggler_manifest(write_yaml, "proceed", deadline_s=1.0)
    started = time.monotonic()
    report = run_embedded(path, catalogs=catalogs, run_id="late", executor="process")
    assert time.monotonic() - started < 60.0  # the hang lasts 300 s unless terminated
    assert report["failures"] == [
        {"initiative_id": "e", "stage": "measure", "reason": "deadline exceeded"}
    ]


def test_unknown_executor_is_a_clear_error(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    with pytest.raises(ValueError, match="executor: must be one of auto, process, thread"):
        run_embedded(write_manifest(write_yaml), catalogs=catalogs, executor="fork")  # type: ignore[arg-type]


def test_a_worker_process_loads_the_measure_components_only() -> None:
    """Workers run measurements only: their catalogs and the fork server's imports leave
    the evaluate and allocate components (PuLP among them, ~1 CPU-s) out."""
    catalogs = default_catalogs()
    blob = pickled_catalogs(catalogs)
    assert blob is not None
    for_workers = pickle.loads(blob)
    assert for_workers.measure.names() == catalogs.measure.names()
    assert for_workers.evaluate.names() == [] and for_workers.allocate.names() == []
    imports = "; ".join(f"import {module}" for module in PRELOAD)
    check = (
        f"import pickle, sys; {imports}; pickle.loads({blob!r}); "
        "print(sorted(m for m in ('pulp', 'impact_allocate.component') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

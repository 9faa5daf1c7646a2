"""The content-addressed result cache: what invalidates an entry, what does not, and that
entries are whole, deterministic and shared by processes (docs/measure.md, "Result cache")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from impact_measure import Measure
from impact_measure.cache import CACHE_DIR, COUNTS, ResultCache, code_version, observe
from impact_measure.handler import MeasureHandler

from services.measure.tests.conftest import config_for

EXAMPLE_DATA = Path(__file__).resolve().parents[3] / "examples" / "data"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "storage"
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(directory))
    return directory


def entries(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).rglob("*.json"))


def measure(component: Measure, config: dict[str, Any], **event: Any) -> tuple[dict, bool]:
    """``(result, cached)`` of one execution."""
    with observe() as observation:
        result = component.execute({"initiative_id": "i-1", "measure_config": config, **event})
    return result, observation.cached


def file_config(path: Path) -> dict[str, Any]:
    return {
        "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": str(path)}}},
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
        },
    }


def test_a_repeated_measurement_is_served_from_the_cache_without_a_fit(root: Path) -> None:
    config = config_for("experiment", seed=3)
    fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
    first, first_cached = measure(Measure(), config, seed=11)
    second, second_cached = measure(Measure(), config, seed=11)  # a new component, same root
    assert (first_cached, second_cached) == (False, True)
    assert second == first
    assert (COUNTS.total("fit") - fits, COUNTS.total("hit") - hits) == (1, 1)
    (entry,) = entries(root)
    stored = json.loads(entry.read_text())
    assert stored["result"] == first
    assert stored["key"]["phase"] == "pilot" and stored["key"]["seed"] == 11
    assert entry.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("change", "value"),
    [("seed", 12), ("phase", "scale"), ("sample_size", 150), ("initiative_id", "i-2")],
)
def test_each_event_field_of_the_key_invalidates(root: Path, change: str, value: Any) -> None:
    config = config_for("experiment", seed=3)
    component = Measure()
    measure(component, config, seed=11)
    event: dict[str, Any] = {"seed": 11, change: value}
    initiative = event.pop("initiative_id", "i-1")
    with observe() as observation:
        component.execute({"initiative_id": initiative, "measure_config": config, **event})
    assert observation.cached is False
    assert len(entries(root)) == 2


def test_config_changes_invalidate_but_the_scale_section_leaves_the_pilot_alone(
    root: Path,
) -> None:
    config = config_for("experiment", seed=3)
    component = Measure()
    measure(component, config)
    with_scale = {**config, "SCALE": {"DATA": {"SOURCE": {"CONFIG": {"n_products": 900}}}}}
    assert measure(component, with_scale)[1] is True  # SCALE only matters at scale
    other_params = json.loads(json.dumps(config))
    other_params["MEASUREMENT"]["PARAMS"]["alpha"] = 0.1
    assert measure(component, other_params)[1] is False
    other_data = config_for("experiment", seed=4)
    assert measure(component, other_data)[1] is False
    assert len(entries(root)) == 3


def test_a_file_is_keyed_by_its_content_not_its_path(root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(EXAMPLE_DATA / "retail_pilot.csv", data / "a.csv")
    shutil.copy(EXAMPLE_DATA / "retail_pilot.csv", data / "b.csv")
    component = Measure()
    first, _ = measure(component, file_config(data / "a.csv"))
    same, cached = measure(component, file_config(data / "b.csv"))
    assert cached is True and same == first
    lines = (data / "a.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",999.0"  # one revenue value changes
    (data / "a.csv").write_text("\n".join(lines) + "\n")
    changed, cached = measure(component, file_config(data / "a.csv"))
    assert cached is False
    assert changed["effect_estimate"] != first["effect_estimate"]
    assert measure(component, file_config(data / "b.csv"))[1] is True


def test_cache_false_neither_reads_nor_writes(root: Path) -> None:
    config = config_for("experiment", seed=3)
    measure(Measure(), config)
    fits = COUNTS.total("fit")
    _, cached = measure(Measure(cache=False), config)
    assert cached is False and COUNTS.total("fit") == fits + 1
    shutil.rmtree(root / CACHE_DIR)
    measure(Measure(cache=False), config)
    assert entries(root) == []


def test_an_unreadable_entry_is_a_miss_and_is_rewritten_whole(root: Path) -> None:
    config = config_for("experiment", seed=3)
    first, _ = measure(Measure(), config)
    (entry,) = entries(root)
    entry.write_text('{"key": {}, "result": {"effect_estimate": ')
    again, cached = measure(Measure(), config)
    assert cached is False and again == first
    assert json.loads(entry.read_text())["result"] == first
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary left


def test_the_code_version_names_packages_and_differs_per_model() -> None:
    experiment, synthetic = code_version("experiment"), code_version("synthetic_control")
    assert set(experiment["packages"]) >= {"impact-measure", "numpy", "statsmodels"}
    assert experiment["source"] != synthetic["source"]


def test_the_handler_says_whether_the_result_was_cached(root: Path) -> None:
    handle = MeasureHandler()
    command = {
        "initiative_id": "i-1",
        "phase": "pilot",
        "component": "Measure",
        "component_kwargs": {},
        "measure_config": config_for("experiment", seed=3),
        "sample_size": None,
        "seed": 5,
    }
    (_, cold), (_, warm) = handle(command), handle(command)
    assert (cold["cached"], warm["cached"]) == (False, True)
    assert warm["result"] == cold["result"]
    off = MeasureHandler()(
        {**command, "component_kwargs": {"cache": False}}  # the manifest switch
    )
    assert off[1]["cached"] is False


FILL = """
import json, sys
from impact_measure import Measure
config = json.loads(sys.argv[1])
Measure().execute({"initiative_id": "i-1", "measure_config": config, "seed": 9})
"""


def test_separate_processes_fill_one_key_with_identical_bytes(tmp_path: Path) -> None:
    """Replicas share a root: a result computed twice, in two processes, is byte-equal,
    so whichever rename lands last leaves the same entry."""
    config = json.dumps(config_for("nearest_neighbour_matching", seed=2))
    filled = []
    for name in ("a", "b"):
        env = {"IMPACT_STORAGE_ROOT": str(tmp_path / name), "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-c", FILL, config], env=env, check=True)
        (entry,) = entries(tmp_path / name)
        filled.append((entry.name, entry.read_bytes()))
    assert filled[0] == filled[1]
    cache = ResultCache(tmp_path / "a")
    assert cache.get(filled[0][0].removesuffix(".json")) is not None


def test_concurrent_fills_of_one_key_leave_one_whole_entry(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    result, _ = measure(Measure(cache=False), config_for("experiment", seed=3))
    material = {"example": True}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: cache.put("ab" * 32, material, result), range(64)))
    (entry,) = entries(tmp_path)
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]
    assert cache.get("ab" * 32) == result

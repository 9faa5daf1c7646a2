"""Results are written only under the operator's storage root: a ``storage_url`` from a
manifest is a relative sub-path, checked when the component is built and again before
each write; the measure service turns a bad one into ``stage_failed`` and writes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from impact_contracts import ConfigError
from impact_measure import Measure
from impact_measure.service import Settings, build_handler
from impact_measure.storage import RESULTS_FILE, confine, storage_root
from impact_runtime import FakeBus, JsonCodec, Service
from impact_runtime.stage import stage_handler

from services.measure.tests.conftest import config_for


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "storage"
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(directory))
    return directory


def event(**overrides: Any) -> dict[str, Any]:
    config = config_for("experiment", seed=1)
    return {"initiative_id": "i-1", "measure_config": config, **overrides}


def test_results_go_under_the_root(root: Path) -> None:
    result = Measure(storage_url="team-a/results").execute(event())
    (line,) = (root / "team-a" / "results" / RESULTS_FILE).read_text().splitlines()
    assert json.loads(line) == {"phase": "pilot", **result}


def test_the_default_root_is_var_storage_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPACT_STORAGE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert storage_root() == tmp_path / "var" / "storage"


ESCAPES = [
    (
        "/any/path",
        "storage_url: must be a relative path inside the storage root, got absolute '/any/path'",
    ),
    (
        "file:///any/path",
        "storage_url: must be a relative path inside the storage root, "
        "got a URL 'file:///any/path'",
    ),
    ("../outside", "storage_url: must not contain '..', got '../outside'"),
    ("a/../../outside", "storage_url: must not contain '..', got 'a/../../outside'"),
    ("", "storage_url: must be a non-empty relative path inside the storage root"),
]


@pytest.mark.parametrize(("url", "message"), ESCAPES)
def test_locations_outside_the_root_are_rejected(
    url: str, message: str, root: Path, tmp_path: Path
) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConfigError) as caught:
        Measure(storage_url=url)
    assert str(caught.value) == message
    assert sorted(tmp_path.rglob("*")) == before  # nothing created


def test_a_symlink_leading_out_of_the_root_is_rejected(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(
        ConfigError, match=r"^storage_url: leaves the storage root through a symlink"
    ):
        Measure(storage_url="link/results")
    assert list(outside.iterdir()) == []


def test_a_symlink_swapped_in_after_the_check_is_caught_at_write_time(
    root: Path, tmp_path: Path
) -> None:
    measure = Measure(storage_url="results")
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    os.symlink(outside, root / "results")
    with pytest.raises(ConfigError, match="leaves the storage root"):
        measure.execute(event())
    assert list(outside.iterdir()) == []


def test_confine_resolves_inside_the_given_root(tmp_path: Path) -> None:
    assert confine("a/b", tmp_path) == tmp_path / "a" / "b"
    assert confine("./a", tmp_path) == tmp_path / "a"


async def test_the_service_fails_the_stage_and_writes_nothing(root: Path, tmp_path: Path) -> None:
    settings = Settings(bootstrap_servers="127.0.0.1:9", processing_guarantee="at_least_once")
    handle = stage_handler(build_handler(settings))
    service = Service(settings, ["measure_requested"], handle, failure_stage="measure")
    service.codec = JsonCodec()
    bus = FakeBus(service)
    command = {
        "run_id": "r1",
        "initiative_id": "i-1",
        "phase": "pilot",
        "component": "Measure",
        "component_kwargs": {"storage_url": str(tmp_path / "escaped")},
        "measure_config": config_for("experiment", seed=1),
        "sample_size": None,
        "seed": 1,
    }
    await bus.publish("measure_requested", command, key="r1:i-1")
    (failed,) = bus.events("stage_failed")
    assert failed["initiative_id"] == "i-1"
    assert "storage_url: must be a relative path inside the storage root" in failed["reason"]
    assert bus.events("measure_completed") == []
    assert not (tmp_path / "escaped").exists()

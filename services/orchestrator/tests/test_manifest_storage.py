"""``storage_url`` (run level, or a stage kwarg such as ``MEASURE.storage_url``) may only
name a sub-path of the operator's storage root: checked at publish time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_contracts import ComponentCatalog
from impact_orchestrator.manifest import Catalogs, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import ALLOCATE, EVALUATE, FakeMeasure
from services.orchestrator.tests.test_manifest_errors import manifest

MEASURE = ComponentCatalog("measure")


@MEASURE.register("Measure")
class StoringMeasure(FakeMeasure):
    def __init__(self, data_root: str | None = None, storage_url: str | None = None) -> None:
        super().__init__(data_root)


CATALOGS = Catalogs(MEASURE, EVALUATE, ALLOCATE)


def errors(path: Path, storage: Path) -> list[str]:
    with pytest.raises(ValueError) as caught:
        load_manifest(path, catalogs=CATALOGS, storage=storage)
    return caught.value.errors  # type: ignore[attr-defined]


CASES = [
    (
        {"storage_url": "/any/path"},
        "manifest.yaml: storage_url: must be a relative path inside the storage root, "
        "got absolute '/any/path'",
    ),
    (
        {"MEASURE": {"storage_url": "/any/path"}},
        "manifest.yaml: MEASURE.storage_url: must be a relative path inside the storage root, "
        "got absolute '/any/path'",
    ),
    (
        {"MEASURE": {"storage_url": "results/../../x"}},
        "manifest.yaml: MEASURE.storage_url: must not contain '..', got 'results/../../x'",
    ),
    (
        {"storage_url": "s3://bucket/x"},
        "manifest.yaml: storage_url: must be a relative path inside the storage root, "
        "got a URL 's3://bucket/x'",
    ),
]


@pytest.mark.parametrize(("override", "expected"), CASES)
def test_locations_outside_the_storage_root_are_rejected(
    override: dict[str, Any], expected: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    path = write_yaml("manifest.yaml", manifest(**override))
    assert errors(path, tmp_path / "storage") == [expected]
    assert not (tmp_path / "storage").exists()


def test_a_stage_file_names_itself(write_yaml: WriteYaml, tmp_path: Path) -> None:
    write_yaml("stages/measure.yaml", {"storage_url": "../up"})
    path = write_yaml("manifest.yaml", manifest(MEASURE="stages/measure.yaml"))
    assert errors(path, tmp_path) == [
        "stages/measure.yaml: storage_url: must not contain '..', got '../up'"
    ]


def test_a_symlink_out_of_the_root_is_rejected(write_yaml: WriteYaml, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "runs").symlink_to(tmp_path)
    path = write_yaml("manifest.yaml", manifest(storage_url="runs/x"))
    assert errors(path, storage) == [
        f"manifest.yaml: storage_url: leaves the storage root through a symlink: 'runs/x' -> "
        f"{tmp_path / 'x'}"
    ]


def test_relative_sub_paths_are_kept_as_written(write_yaml: WriteYaml, tmp_path: Path) -> None:
    content = manifest(storage_url="./runs", MEASURE={"storage_url": "measure"})
    loaded = load_manifest(
        write_yaml("manifest.yaml", content), catalogs=CATALOGS, storage=tmp_path
    )
    assert (loaded.storage_url, loaded.measure.kwargs) == ("./runs", {"storage_url": "measure"})


def test_the_operator_root_comes_from_the_environment(
    write_yaml: WriteYaml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "runs").symlink_to(tmp_path)
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(storage))
    path = write_yaml("manifest.yaml", manifest(storage_url="runs/x"))
    with pytest.raises(ValueError, match="leaves the storage root through a symlink"):
        load_manifest(path, catalogs=CATALOGS)

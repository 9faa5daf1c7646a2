"""Reading the files of a manifest: one-line errors for bad bytes and bad YAML, libyaml
when installed, each named file parsed once, JSON manifests on a fast path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_orchestrator.manifest import Catalogs, load_manifest
from impact_orchestrator.manifest import files as manifest_files

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config
from services.orchestrator.tests.test_manifest_errors import errors_of, initiative, manifest


def test_a_non_utf8_manifest_names_the_byte_and_its_offset(
    tmp_path: Path, catalogs: Catalogs
) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(b"budget: 100\n# caf\xe9\nINITIATIVES: []\n")
    assert errors_of(path, catalogs) == [
        "manifest.yaml: not valid UTF-8: byte 0xe9 at offset 17 (line 2)"
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path, catalogs: Catalogs) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(manifest()).encode())
    assert load_manifest(path, catalogs=catalogs).budget == 100.0


def test_non_utf8_stage_and_measure_config_files_are_named(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    stage = write_yaml("stages/evaluate.yaml", "")
    stage.write_bytes(b"confidence: 0.5 \xff\n")
    config = write_yaml("configs/a.yaml", "")
    valid = yaml.safe_dump(measure_config()).encode()
    config.write_bytes(valid + b"# \xc3\x28\n")
    offset, line = len(valid) + 2, valid.count(b"\n") + 1
    content = manifest(
        EVALUATE="stages/evaluate.yaml", INITIATIVES=[initiative("a", "configs/a.yaml")]
    )
    assert errors_of(write_yaml("manifest.yaml", content), catalogs) == [
        "manifest.yaml: EVALUATE: cannot read stages/evaluate.yaml: "
        "not valid UTF-8: byte 0xff at offset 16 (line 1)",
        "manifest.yaml: INITIATIVES[0].measure_config: cannot read configs/a.yaml: "
        f"not valid UTF-8: byte 0xc3 at offset {offset} (line {line})",
    ]


YAML_ERRORS = [
    ("budget: [1, 2\n", "manifest.yaml: invalid YAML at line 2, column 1: "),
    ("budget: 1\n  bad: 2\n", "manifest.yaml: invalid YAML at line 2, column 6: "),
    ("budget: *nowhere\n", "manifest.yaml: invalid YAML at line 1, column 9: "),
]


@pytest.mark.parametrize(("text", "prefix"), YAML_ERRORS)
def test_invalid_yaml_is_one_line_with_line_and_column(
    text: str, prefix: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    (error,) = errors_of(write_yaml("manifest.yaml", text), catalogs)
    assert error.startswith(prefix)
    assert "\n" not in error


def test_deep_nesting_is_an_error_not_a_crash(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    (error,) = errors_of(write_yaml("manifest.yaml", "budget: " + "[" * 20_000), catalogs)
    assert error.startswith("manifest.yaml: invalid YAML at line 1")


def test_libyaml_is_used_when_installed() -> None:
    assert manifest_files.YAML_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert hasattr(yaml, "CSafeLoader"), "libyaml bindings missing from this PyYAML"


def test_the_pure_python_fallback_gives_the_same_manifest(
    monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = write_yaml("manifest.yaml", manifest(seed=7, deadline=60))
    fast = load_manifest(path, catalogs=catalogs)
    monkeypatch.setattr(manifest_files, "YAML_LOADER", yaml.SafeLoader)
    assert load_manifest(path, catalogs=catalogs) == fast


def test_a_measure_config_file_named_many_times_is_read_once(
    monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("configs/a.yaml", measure_config())
    entries = [initiative(f"i{n}", "configs/a.yaml") for n in range(50)]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    reads: list[Path] = []
    real = manifest_files.read_yaml

    def counting(file: Path, *args: Any) -> Any:
        reads.append(file)
        return real(file, *args)

    monkeypatch.setattr(manifest_files, "read_yaml", counting)
    loaded = load_manifest(path, catalogs=catalogs)
    assert [p.name for p in reads] == ["manifest.yaml", "a.yaml"]
    assert [s.measure_config for s in loaded.initiatives] == [measure_config()] * 50


def test_an_invalid_shared_config_is_reported_once(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("configs/a.yaml", {"DATA": {"SOURCE": {"type": "simulator"}}})
    entries = [initiative(f"i{n}", "configs/a.yaml") for n in range(3)]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    assert errors_of(path, catalogs) == ["configs/a.yaml: MEASUREMENT: required key is missing"]


def test_a_json_manifest_loads_like_its_yaml(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    content = manifest(seed=3)
    from_yaml = load_manifest(write_yaml("manifest.yaml", content), catalogs=catalogs)
    from_json = load_manifest(write_yaml("manifest.json", json.dumps(content)), catalogs=catalogs)
    assert from_json.model_dump(exclude={"source"}) == from_yaml.model_dump(exclude={"source"})


def test_a_flow_mapping_that_is_not_json_is_still_yaml(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    text = "{budget: 5, INITIATIVES: [{initiative_id: a, cost_to_scale: 1, measure_config: "
    text += json.dumps(measure_config()) + "}]}"
    assert load_manifest(write_yaml("manifest.yaml", text), catalogs=catalogs).budget == 5.0

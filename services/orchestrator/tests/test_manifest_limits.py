"""Documented limits: sizes are checked before parsing, counts before per-initiative work,
values (samples, workers, seeds) with the file, key path, bound and the value given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_orchestrator.manifest import Catalogs, Limits, load_manifest
from impact_orchestrator.manifest.limits import (
    MAX_SAMPLE_SIZE,
    MAX_SEED,
    MAX_SIMULATED_CELLS,
    MAX_WORKERS,
)

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config
from services.orchestrator.tests.test_manifest_errors import (
    errors_for,
    errors_of,
    initiative,
    manifest,
)


def test_the_documented_values() -> None:
    assert (MAX_SAMPLE_SIZE, MAX_WORKERS, MAX_SEED) == (10_000_000, 256, 2**63 - 1)
    assert MAX_SIMULATED_CELLS == 10_000_000
    limits = Limits()
    assert (limits.manifest_bytes, limits.file_bytes) == (40 * 2**20, 2**20)
    assert (limits.initiatives, limits.yaml_values, limits.errors_shown) == (
        100_000,
        20_000_000,
        100,
    )


RUN_LEVEL_LIMITS = [
    (
        {"scale_sample_size": 10**9},
        "manifest.yaml: scale_sample_size: must be <= 10000000, got 1000000000",
    ),
    ({"max_workers": 10**9}, "manifest.yaml: max_workers: must be <= 256, got 1000000000"),
    (
        {"seed": 2**70},
        "manifest.yaml: seed: must be <= 9223372036854775807, got 1180591620717411303424",
    ),
    ({"seed": -1}, "manifest.yaml: seed: must be >= 0, got -1"),
]


@pytest.mark.parametrize(("override", "expected"), RUN_LEVEL_LIMITS)
def test_run_level_limits(
    override: dict[str, Any], expected: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    assert errors_for(write_yaml, catalogs, **override) == [expected]


def test_the_largest_allowed_values_are_accepted(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    config = measure_config()
    config["DATA"]["SOURCE"] = {"type": "file", "CONFIG": {"path": "pilot.csv"}}
    config["SCALE"] = {"DATA": {"SOURCE": {"CONFIG": {"path": "scale.csv"}}}}
    write_yaml("pilot.csv", "x\n")
    write_yaml("scale.csv", "x\n")
    content = manifest(
        scale_sample_size=MAX_SAMPLE_SIZE,
        max_workers=MAX_WORKERS,
        seed=MAX_SEED,
        INITIATIVES=[initiative("a", config)],
    )
    loaded = load_manifest(write_yaml("manifest.yaml", content), catalogs=catalogs)
    assert (loaded.scale_sample_size, loaded.max_workers, loaded.seed) == (
        MAX_SAMPLE_SIZE,
        MAX_WORKERS,
        MAX_SEED,
    )


def simulator_config(**config: Any) -> dict[str, Any]:
    content = measure_config()
    content["DATA"]["SOURCE"]["CONFIG"] = config
    return content


def test_simulator_limits_name_the_config_file_and_key(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("configs/big.yaml", simulator_config(n_products=10**9, seed=1))
    inline = simulator_config(seed=2**64)
    entries = [initiative("a", "configs/big.yaml"), initiative("b", inline)]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    assert errors_of(path, catalogs) == [
        "configs/big.yaml: DATA.SOURCE.CONFIG.n_products: must be <= 10000000, got 1000000000",
        "manifest.yaml: INITIATIVES[1].measure_config.DATA.SOURCE.CONFIG.seed: "
        "must be <= 9223372036854775807, got 18446744073709551616",
    ]


def test_simulated_product_days_are_limited_in_the_pilot_and_at_scale(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    pilot = simulator_config(n_products=200_000)  # x 91 days
    scaled = simulator_config(seed=1)
    scaled["SCALE"] = {"DATA": {"SOURCE": {"CONFIG": {"end_date": "2024-12-31"}}}}
    entries = [initiative("a", pilot), initiative("b", scaled), initiative("c", scaled)]
    content = manifest(scale_sample_size=30_000, INITIATIVES=entries)
    assert errors_of(write_yaml("manifest.yaml", content), catalogs) == [
        "manifest.yaml: INITIATIVES[0].measure_config.DATA.SOURCE.CONFIG: n_products x days = "
        "18200000 simulated product-days, must be <= 10000000 (fewer products or a shorter "
        "period)",
        "manifest.yaml: scale_sample_size: 30000 products x 366 days of INITIATIVES[1] "
        "(and 1 more initiatives) = 10980000 simulated product-days at scale, "
        "must be <= 10000000",
    ]


def test_the_initiative_count_is_checked_before_any_initiative(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    entries = [initiative(f"i{n}", "configs/none.yaml") for n in range(4)]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    with pytest.raises(ValueError) as caught:
        load_manifest(path, catalogs=catalogs, limits=Limits(initiatives=3))
    assert caught.value.errors == [  # type: ignore[attr-defined]
        "manifest.yaml: INITIATIVES: must have at most 3 initiatives, got 4"
    ]


def test_the_manifest_size_is_checked_before_parsing(tmp_path: Path, catalogs: Catalogs) -> None:
    path = tmp_path / "manifest.yaml"
    limit = Limits().manifest_bytes
    path.write_bytes(b"budget: [" + b"1," * (limit // 2))  # invalid YAML, never parsed
    assert errors_of(path, catalogs) == [
        f"manifest.yaml: file too large: {path.stat().st_size} bytes, limit {limit}"
    ]


def test_a_named_file_is_limited_too(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    config = write_yaml("configs/a.yaml", measure_config())
    config.write_text(config.read_text() + "#" * 2**20)
    size = config.stat().st_size
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=[initiative("a", "configs/a.yaml")]))
    assert errors_of(path, catalogs) == [
        "manifest.yaml: INITIATIVES[0].measure_config: cannot read configs/a.yaml: "
        f"file too large: {size} bytes, limit {2**20}"
    ]


def test_an_alias_bomb_is_rejected(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    text = yaml.safe_dump(manifest()) + "\n".join(lines).replace("a", "bomb_a") + "\n"
    path = write_yaml("manifest.yaml", text)
    assert errors_of(path, catalogs) == [
        "manifest.yaml: YAML aliases expand to more than 20000000 values"
    ]


def test_ordinary_aliases_are_fine(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    text = yaml.safe_dump(manifest(INITIATIVES=[]))
    text = text.replace("INITIATIVES: []\n", "")
    text += "INITIATIVES:\n"
    text += "- {initiative_id: a, cost_to_scale: 1, measure_config: &common {MEASUREMENT: "
    text += "{MODEL: experiment}, DATA: {SOURCE: {type: simulator}}}}\n"
    text += "- {initiative_id: b, cost_to_scale: 2, measure_config: *common}\n"
    loaded = load_manifest(write_yaml("manifest.yaml", text), catalogs=catalogs)
    assert [s.measure_config for s in loaded.initiatives] == [
        {"MEASUREMENT": {"MODEL": "experiment"}, "DATA": {"SOURCE": {"type": "simulator"}}}
    ] * 2


def test_only_the_first_errors_are_listed(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    entries = [initiative(f"i{n}", measure_config(), cost=-1) for n in range(150)]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    errors = errors_of(path, catalogs)
    assert len(errors) == 101
    assert errors[0] == "manifest.yaml: INITIATIVES[0].cost_to_scale: must be > 0, got -1"
    assert errors[-1] == "manifest.yaml: 50 more error(s) not shown"

"""``impact publish`` against the real broker: every kind of bad manifest input (limits,
non-UTF-8 bytes, a write location outside the storage root) is one line naming the file,
the key and the reason, the exit code is 2, and nothing reaches the topic."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from impact_cli.main import app
from impact_schemas.catalog import topic_for
from typer.testing import CliRunner

from tests.integration.test_cli import _message_count

pytestmark = pytest.mark.integration

CONFIG = {
    "DATA": {"SOURCE": {"type": "simulator", "CONFIG": {"seed": 1}}},
    "MEASUREMENT": {
        "MODEL": "experiment",
        "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
    },
}


def write(directory: Path, name: str, run_level: dict[str, object]) -> Path:
    document = {
        "budget": 100,
        "INITIATIVES": [{"initiative_id": "a", "cost_to_scale": 10, "measure_config": CONFIG}],
        **run_level,
    }
    path = directory / name
    path.write_text(yaml.safe_dump(document))
    return path


def bad_manifests(directory: Path) -> dict[Path, list[str]]:
    """Manifest → the error lines ``publish`` must print for it."""
    latin1 = directory / "latin1.yaml"
    latin1.write_bytes(b"budget: 100\n# caf\xe9\n")
    huge = directory / "huge.yaml"
    huge.write_bytes(b"#" * (40 * 2**20 + 1))
    big_sim = {**CONFIG, "DATA": {"SOURCE": {"type": "simulator", "CONFIG": {"n_products": 10**9}}}}
    return {
        write(directory, "limits.yaml", {"scale_sample_size": 10**9, "max_workers": 10**9}): [
            "limits.yaml: scale_sample_size: must be <= 10000000, got 1000000000",
            "limits.yaml: max_workers: must be <= 256, got 1000000000",
        ],
        write(directory, "seed.yaml", {"seed": 2**70}): [
            "seed.yaml: seed: must be <= 9223372036854775807, got 1180591620717411303424"
        ],
        write(
            directory,
            "sim.yaml",
            {
                "INITIATIVES": [
                    {"initiative_id": "a", "cost_to_scale": 1, "measure_config": big_sim}
                ]
            },
        ): [
            "sim.yaml: INITIATIVES[0].measure_config.DATA.SOURCE.CONFIG.n_products: "
            "must be <= 10000000, got 1000000000"
        ],
        write(directory, "storage.yaml", {"MEASURE": {"storage_url": "/any/path"}}): [
            "storage.yaml: MEASURE.storage_url: must be a relative path inside the storage "
            "root, got absolute '/any/path'"
        ],
        latin1: ["latin1.yaml: not valid UTF-8: byte 0xe9 at offset 17 (line 2)"],
        huge: [f"huge.yaml: file too large: {40 * 2**20 + 1} bytes, limit {40 * 2**20}"],
    }


async def test_bad_input_is_one_line_per_problem_and_never_reaches_kafka(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    prefix = f"bad{uuid.uuid4().hex[:8]}."
    options = ["--bootstrap", kafka_bootstrap, "--registry", schema_registry_url]
    for manifest, expected in bad_manifests(tmp_path).items():
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["publish", str(manifest), *options, "--prefix", prefix]
        )
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [f"error {line}" for line in expected]
    assert await _message_count(kafka_bootstrap, topic_for("manifest_submitted", prefix)) == 0


async def test_data_problems_are_caught_before_publish_and_never_reach_kafka(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path, s3_env: Any, sql_env: Any
) -> None:
    from cli.tests.test_check_command import data_problem_manifest

    frame = pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0] * 10, "t": [0, 1] * 20, "arm": ["a", "b"] * 20})
    manifest, expected = data_problem_manifest(tmp_path, frame)
    prefix = f"data{uuid.uuid4().hex[:8]}."
    options = ["--bootstrap", kafka_bootstrap, "--registry", schema_registry_url]
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["publish", str(manifest), *options, "--prefix", prefix]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert [line.split(": ")[1] for line in lines] == [e.split(": ")[1] for e in expected]
    assert await _message_count(kafka_bootstrap, topic_for("manifest_submitted", prefix)) == 0

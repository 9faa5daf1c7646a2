"""A model from an installed plugin package (entry point ``impact_engine.models``) is
usable from a manifest with no change to the project: a real dist-info on sys.path. Its
result's ``model_type`` is the design family it declares; its own name travels in
``diagnostics.model_name``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from services.orchestrator.tests.plugin_site import install_plugin_module

PLUGIN = '''
from typing import ClassVar

import numpy as np
from impact_measure.models import Estimate, ModelParams


class MeansParams(ModelParams):
    outcome_column: str
    treatment_column: str


class DifferenceOfMeans:
    """Treated mean minus control mean, with a normal 95% interval."""

    design: ClassVar[str] = "experiment"
    Params: ClassVar[type[ModelParams]] = MeansParams

    def estimate(self, frame, params, seed):
        y = frame[params.outcome_column].to_numpy(dtype=float)
        t = frame[params.treatment_column].to_numpy(dtype=int)
        a, b = y[t == 1], y[t == 0]
        effect = float(a.mean() - b.mean())
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        return Estimate(
            effect=effect,
            ci_lower=effect - 1.96 * se,
            ci_upper=effect + 1.96 * se,
            p_value=None,
            sample_size=len(y),
            n_treated=len(a),
            n_control=len(b),
        )
'''

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "data"
CONFIG = {
    "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "data/retail_pilot.csv"}}},
    "MEASUREMENT": {
        "MODEL": "difference_of_means",
        "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
    },
    "SCALE": {"DATA": {"SOURCE": {"CONFIG": {"path": "data/retail_scale.csv"}}}},
}


def copy_data(folder: Path) -> None:
    (folder / "data").mkdir()
    for name in ("retail_pilot.csv", "retail_scale.csv"):
        (folder / "data" / name).write_bytes((EXAMPLES / name).read_bytes())


def install_plugin(site: Path) -> None:
    install_plugin_module(
        site,
        "impact_means_plugin",
        PLUGIN,
        "[impact_engine.models]\ndifference_of_means = impact_means_plugin:DifferenceOfMeans\n",
    )


def run_python(code: str, site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "IMPACT_STORAGE_ROOT": str(tmp_path / "storage"),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_plugin_model_runs_from_a_manifest(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    copy_data(tmp_path)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "budget": 10,
                "INITIATIVES": [
                    {"initiative_id": "a", "cost_to_scale": 5, "measure_config": CONFIG}
                ],
            }
        )
    )
    done = run_python(
        f"""
        import json
        from impact_orchestrator import run_embedded
        result = run_embedded({str(manifest)!r}, progress=False)
        print(json.dumps([r["actual_return"] for r in result["reports"]]))
        """,
        site,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [effect] = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(effect, float)


def test_a_plugin_model_result_carries_its_design_and_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    copy_data(tmp_path)
    config = {
        **CONFIG,
        "DATA": {
            "SOURCE": {"type": "file", "CONFIG": {"path": str(tmp_path / "data/retail_pilot.csv")}}
        },
    }
    event = {
        "initiative_id": "a",
        "phase": "pilot",
        "seed": 1,
        "sample_size": None,
        "measure_config": config,
    }
    done = run_python(
        f"""
        import json
        from impact_measure.component import Measure
        result = Measure(data_root={str(tmp_path)!r}, cache=False).execute({event!r})
        print(json.dumps([result["model_type"], result["diagnostics"]["model_name"]]))
        """,
        site,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["experiment", "difference_of_means"]


def test_without_the_plugin_the_manifest_names_every_known_model(tmp_path: Path) -> None:
    from impact_measure.api import model_names

    names = model_names()
    assert names[:2] == ["experiment", "interrupted_time_series"]
    assert "difference_of_means" not in names

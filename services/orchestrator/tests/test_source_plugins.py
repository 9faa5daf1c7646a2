"""A source from an installed plugin package (entry point ``impact_engine.sources``) is
usable from a manifest with no change to the project: a real dist-info on sys.path."""

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
import pandas as pd
from impact_measure.config import Section, validate_section


class RowsConfig(Section):
    n: int
    effect: float


class RowsSource:
    """Seeded rows with a known effect."""

    draws_scale_sample: ClassVar[bool] = True
    Config: ClassVar[type[Section]] = RowsConfig

    def load(self, config, request):
        cfg = validate_section(RowsConfig, config, "DATA.SOURCE.CONFIG")
        rng = np.random.default_rng(request.seed or 0)
        treated = np.arange(cfg.n) % 2
        y = 10 + cfg.effect * treated + rng.normal(size=cfg.n)
        return pd.DataFrame({"y": y, "t": treated})
'''


def install_plugin(site: Path) -> None:
    install_plugin_module(
        site,
        "impact_rows_plugin",
        PLUGIN,
        "[impact_engine.sources]\nrows = impact_rows_plugin:RowsSource\n",
    )


def test_a_plugin_source_runs_from_a_manifest(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    config = {
        "DATA": {"SOURCE": {"type": "rows", "CONFIG": {"n": 200, "effect": 4.0}}},
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": "y", "treatment_column": "t"},
        },
    }
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "budget": 10,
                "INITIATIVES": [
                    {"initiative_id": "a", "cost_to_scale": 5, "measure_config": config}
                ],
            }
        )
    )
    code = textwrap.dedent(
        f"""
        import json
        from impact_orchestrator import run_embedded
        result = run_embedded({str(manifest)!r}, progress=False)
        print(json.dumps([r["actual_return"] for r in result["reports"]]))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    env["IMPACT_STORAGE_ROOT"] = str(tmp_path / "storage")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [effect] = json.loads(done.stdout.strip().splitlines()[-1])
    assert 3.0 < effect < 5.0

"""``impact run`` exits 1, with one line on stderr, when any initiative (or the run) failed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from impact_cli import main
from impact_cli.decision import run_problem
from impact_observe.stages import stage_text
from typer.testing import CliRunner


def simulated(seed: int, outcome: str = "revenue", treatment: str = "treated") -> dict[str, object]:
    return {
        "DATA": {
            "SOURCE": {
                "type": "simulator",
                "CONFIG": {"seed": seed, "n_products": 300, "true_effect": 5.0,
                           "treatment_fraction": 0.5, "design": "cross_section"},
            }
        },
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": outcome, "treatment_column": treatment},
        },
    }  # fmt: skip


def manifest(tmp_path: Path, failing: int) -> Path:
    configs = [simulated(11), simulated(12, outcome="no_such_column"), simulated(13, treatment="x")]
    initiatives = [
        {"initiative_id": name, "cost_to_scale": 10000, "measure_config": config}
        for name, config in zip(
            ("good", "bad-column", "also-bad")[: 1 + failing], configs, strict=False
        )
    ]
    path = tmp_path / "manifest.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "budget": 100000,
                "scale_sample_size": 2000,
                "max_workers": 2,
                "seed": 1,
                "MEASURE": {"component": "Measure"},
                "EVALUATE": {"component": "Evaluate"},
                "ALLOCATE": {"rule": "minimax_regret"},
                "INITIATIVES": initiatives,
            }
        )
    )
    return path


def test_two_of_three_failed_exits_1_with_one_line_on_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main.app,
        ["run", str(manifest(tmp_path, failing=2)), "--json", "--no-cache"],
        env={"IMPACT_STORAGE_ROOT": str(tmp_path / "store")},
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        "run completed: 2 of 3 initiatives failed (also-bad at measure, bad-column at measure)"
    )
    run = json.loads(result.stdout)
    assert (run["status"], run["summary"]["n_failed"], run["summary"]["n_selected"]) == (
        "completed",
        2,
        1,
    )


def test_a_clean_run_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main.app,
        ["run", str(manifest(tmp_path, failing=0)), "--no-cache"],
        env={"IMPACT_STORAGE_ROOT": str(tmp_path / "store"), "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "Executive summary" in result.stdout
    assert "1 of 1 initiatives selected; 10,000 of 100,000 allocated (10 %)" in result.stdout


def test_run_problem_names_status_failures_and_reason() -> None:
    assert run_problem({"status": "completed", "failures": []}) is None
    failed = {
        "status": "failed",
        "failures": [{"initiative_id": f"i{n}", "stage": "scale"} for n in range(7)],
        "summary": {"n_initiatives": 9, "reason": "deadline passed"},
    }
    assert run_problem(failed) == (
        "run failed: 7 of 9 initiatives failed (i0 at scale, i1 at scale, i2 at scale, "
        "i3 at scale, i4 at scale and 2 more); deadline passed"
    )
    assert run_problem({"status": "failed", "failures": [], "summary": {}}) == "run failed"


def test_stage_labels_say_done_when_every_item_is_in() -> None:
    assert stage_text(10, 10, "running") == "10/10 done"
    assert stage_text(7, 10, "running") == "7/10 running"
    assert stage_text(7, 10, "running", run_final=True) == "7/10 stopped"
    assert stage_text(2, 2, "completed", run_final=True) == "2/2 completed"
    assert stage_text(1, 3, "failed", run_final=True) == "1/3 failed"

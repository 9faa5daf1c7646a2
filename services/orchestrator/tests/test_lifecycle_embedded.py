"""The run lifecycle in embedded mode: decisions given up front are applied when the run
waits for them, through the same transitions as on Kafka."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts import ContractViolation
from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Catalogs, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.test_embedded_fakes import write_manifest


def manifest(write_yaml: WriteYaml, catalogs: Catalogs, **keys: Any) -> Any:
    loaded = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
    return loaded.model_copy(update=keys)


def test_an_amended_approval_scales_the_reallocated_portfolio(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    statuses: list[dict[str, Any]] = []
    approve = {"action": "approve", "actor": "alice", "drop": ["c"], "note": "c is late"}
    result = run_embedded(
        manifest(write_yaml, catalogs, approval="required"),
        catalogs=catalogs,
        run_id="x",
        on_status=statuses.append,
        decisions=[approve],
    )
    # the fake allocation by median took c, a, d (40); without c: a (10) + b (20) + d (5)
    assert [r["initiative_id"] for r in result["reports"]] == ["a", "b", "d"]
    assert result["summary"]["reason"] == "amended by alice: c is late; dropped c"
    assert any(s["message"].startswith("awaiting approval: 3 selected") for s in statuses)


def test_a_straight_through_run_is_unchanged_by_the_lifecycle(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    plain = run_embedded(write_manifest(write_yaml), catalogs=catalogs, run_id="x")
    explicit = run_embedded(
        manifest(write_yaml, catalogs, approval="none"), catalogs=catalogs, run_id="x"
    )
    assert explicit == plain
    assert [r["initiative_id"] for r in plain["reports"]] == ["a", "c", "d"]


def test_a_pilot_only_run_reports_its_portfolio_without_scaling(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    result = run_embedded(
        manifest(write_yaml, catalogs, pilot_only=True), catalogs=catalogs, run_id="x"
    )
    assert result["reports"] == []
    assert result["summary"]["n_selected"] == 3
    assert result["summary"]["reason"] == "pilot-only run: not scaled"


def test_a_run_awaiting_approval_without_a_decision_says_what_to_give(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    waiting = manifest(write_yaml, catalogs, approval="required")
    with pytest.raises(RuntimeError, match="run x awaits approval: give the decision with"):
        run_embedded(waiting, catalogs=catalogs, run_id="x")
    bad = {"action": "approve", "actor": ""}
    with pytest.raises(ContractViolation, match="invalid run_command: actor"):
        run_embedded(waiting, catalogs=catalogs, run_id="x", decisions=[bad])

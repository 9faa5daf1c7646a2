"""An embedded run read back from the run history: the portfolio shows what allocate
decided on (the posterior), as for a Kafka run, and every initiative gets its cause."""

from __future__ import annotations

from pathlib import Path

from impact_dashboard.model import run_view
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.history import RunHistory
from impact_orchestrator.manifest import load_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "manifest.yaml"


def test_the_history_keeps_the_posterior_the_portfolio_shows(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs")
    completed = run_embedded(
        load_manifest(EXAMPLE), run_id="emb-1", history=history, progress=False
    )
    events = history.read("emb-1")
    pilots = {p["initiative_id"]: p for p in completed["pilots"]}
    for recorded in (events, [e for e in events if e[0] != "allocate_requested"]):
        view = run_view("emb-1", recorded)
        assert {r.initiative_id: r.predicted for r in view.portfolio} == {
            i: p["predicted_return"] for i, p in pilots.items()
        }
        assert {r.initiative_id: r.probability_positive for r in view.portfolio} == {
            i: p["probability_positive"] for i, p in pilots.items()
        }
        assert {r.initiative_id for r in view.portfolio if r.selected} == {
            i for i, p in pilots.items() if p["selected"]
        }
        assert not [r for r in view.portfolio if r.reason.kind in ("pending", "failed")]
        assert view.executive is not None
        assert view.executive.expected_lower == completed["summary"]["predicted_total_lower"]
    intervals = [(r.lower, r.predicted, r.upper) for r in run_view("emb-1", events).portfolio]
    assert all(
        low is not None and mean is not None and high is not None and low < mean < high
        for low, mean, high in intervals
    ), intervals

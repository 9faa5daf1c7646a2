"""Decision quality on simulated cohorts with known true effects.

Each cohort: ``n`` initiatives with true effects drawn from one prior, a design each (six
noise levels, like the six measure models), a pilot size from tiny to large (log-uniform),
an unbiased pilot estimate with its 95 % CI, lognormal costs and a budget of 30 % of the
total cost. The real components decide: ``Evaluate`` scores each pilot, the cohort step
(``pool_evaluations``) pools them, and the allocate components choose. Compared with

* the oracle: a knapsack on the true effects;
* the Bayes limit: a knapsack on the posterior means under the true prior;
* a knapsack on the raw estimates, and the original pipeline (raw estimates, minimax regret).

Reported per prior: value captured (Σ true effect of the chosen, as % of the oracle's,
averaged over cohorts), the bias of predicted - true over selected initiatives (with its
SE), Σ predicted vs Σ true, and how often the 95 % intervals of the selected initiatives
cover the true effect and the scale result (``true + N(0, SE_scale²)``).

With ``--earlier K`` the prior is also fitted on the pilots of ``K`` earlier cohorts of
the same prior and noise (drawn from a stream of their own, so the cohorts decided on are
the same for every ``K``; decision 0094).

Run: ``nice -n 10 uv run python -m bench.decision_quality [--cohorts 60] [--size 36]
[--earlier 0 1]``.
Writes ``bench/results/decision_quality.json`` and prints a Markdown table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from impact_allocate import ALLOCATE_COMPONENTS
from impact_allocate.component import RAW_WEIGHTS
from impact_evaluate import Evaluate
from impact_evaluate.cohort import pool_evaluations
from impact_evaluate.earlier import EarlierPilot
from impact_evaluate.posterior import posterior
from scipy import stats

from bench.cohorts import (
    PRIORS,
    SCALE_SAMPLE_SIZE,
    Cohort,
    TruePrior,
    cohort_options,
    draw_cohort,
)
from bench.machine import machine
from bench.results import markdown_table, write_result

METHOD = (
    "bench/decision_quality.py: per prior, COHORTS cohorts of SIZE initiatives (seeded); "
    "true effects from the prior, SE = design noise x sqrt(1000 / n_pilot) with n_pilot "
    "log-uniform in [30, 5000], estimate = true + SE x N(0, 1), CI = estimate +/- 1.96 SE; "
    "costs lognormal(0, 0.8), budget 30 % of the total; scale sample 20000, scale result "
    "= true + SE x sqrt(n_pilot / 20000) x N(0, 1). Captured = mean over cohorts of "
    "sum(true | chosen) / sum(true | oracle) in %."
)
Z95 = 1.959963984540054


def evaluations(cohort: Cohort) -> list[dict[str, Any]]:
    """The ``Evaluate`` component's results for the cohort's pilots."""
    evaluate = Evaluate()
    out = []
    for k, initiative_id in enumerate(cohort.ids):
        x, s = float(cohort.estimate[k]), float(cohort.error[k])
        z = abs(x) / s
        measure = {
            "initiative_id": initiative_id,
            "model_type": cohort.model_type[k],
            "effect_estimate": x,
            "ci_lower": x - Z95 * s,
            "ci_upper": x + Z95 * s,
            "p_value": float(2 * stats.norm.sf(z)),
            "sample_size": int(cohort.pilot_n[k]),
        }
        out.append(
            evaluate.execute(
                {
                    "initiative_id": initiative_id,
                    "cost_to_scale": float(cohort.cost[k]),
                    "measure": measure,
                }
            )
        )
    return out


def knapsack_on(cohort: Cohort, values: np.ndarray) -> set[str]:
    """The allocate component as a plain knapsack on ``values`` (all weight on the median)."""
    allocate = ALLOCATE_COMPONENTS.create(
        "BayesianAllocate", scenario_weights={"best": 0.0, "median": 1.0, "worst": 0.0}
    )
    initiatives = [
        {
            "initiative_id": initiative_id,
            "confidence": 1.0,
            "cost": float(cohort.cost[k]),
            "return_best": float(values[k]),
            "return_median": float(values[k]),
            "return_worst": float(values[k]),
            "model_type": cohort.model_type[k],
            "sample_size": int(cohort.pilot_n[k]),
        }
        for k, initiative_id in enumerate(cohort.ids)
    ]
    result = allocate.execute({"budget": cohort.budget, "initiatives": initiatives})
    return set(result["selected_initiatives"])


def allocate(component: str, budget: float, pooled: list[dict[str, Any]]) -> dict[str, Any]:
    """Run an allocate component on evaluations."""
    result: dict[str, Any] = ALLOCATE_COMPONENTS.create(component).execute(
        {"budget": budget, "initiatives": pooled}
    )
    return result


def selected_by(component: str, budget: float, pooled: list[dict[str, Any]]) -> set[str]:
    return set(allocate(component, budget, pooled)["selected_initiatives"])


def true_value(cohort: Cohort, chosen: set[str]) -> float:
    return float(sum(cohort.truth[k] for k, i in enumerate(cohort.ids) if i in chosen))


def pilots_of(cohorts: list[Cohort]) -> list[EarlierPilot]:
    """The pilots of earlier cohorts, as the cohort step takes them."""
    return [
        EarlierPilot(float(c.estimate[k]), float(c.error[k]), c.model_type[k])
        for c in cohorts
        for k in range(len(c.ids))
    ]


def run_cohort(
    prior: TruePrior, cohort: Cohort, earlier: list[EarlierPilot] | None = None
) -> dict[str, Any]:
    """Value captured by every rule, and the engine's predictions for what it selected;
    ``earlier`` pilots feed the prior."""
    scored = evaluations(cohort)
    raw = pool_evaluations(scored, estimates="raw")
    pooled = pool_evaluations(scored, scale_sample_size=SCALE_SAMPLE_SIZE, earlier=earlier or ())
    bayes = posterior(prior.prior, cohort.estimate, cohort.error, cohort.error)
    chosen = {
        "oracle": knapsack_on(cohort, cohort.truth),
        "bayes_limit": knapsack_on(cohort, bayes.mean),
        "raw_knapsack": knapsack_on(cohort, cohort.estimate),
        "original": selected_by("MinimaxRegretAllocate", cohort.budget, raw),
    }
    engine = {}
    for rule, component, kwargs in ENGINE_RULES:
        result = ALLOCATE_COMPONENTS.create(component, **kwargs).execute(
            {"budget": cohort.budget, "initiatives": pooled}
        )
        chosen[rule] = set(result["selected_initiatives"])
        engine[rule] = result
    by_id = {e["initiative_id"]: e for e in pooled}
    index = {i: k for k, i in enumerate(cohort.ids)}
    selected: dict[str, list[dict[str, Any]]] = {rule: [] for rule in engine}
    for rule, initiative_id in ((r, i) for r in engine for i in sorted(chosen[r])):
        e, k = by_id[initiative_id], index[initiative_id]
        truth, actual = float(cohort.truth[k]), float(cohort.scale_actual[k])
        predicted = engine[rule]["predicted_returns"][initiative_id]
        raw_predicted = float(cohort.estimate[k])
        selected[rule].append(
            {
                "predicted": predicted,
                "raw_predicted": raw_predicted,
                "truth": truth,
                "credible_covers_truth": e["return_worst"] <= truth <= e["return_best"],
                "prediction_covers_truth": e["prediction_lower"] <= truth <= e["prediction_upper"],
                "prediction_covers_actual": (
                    e["prediction_lower"] <= actual <= e["prediction_upper"]
                ),
            }
        )  # fmt: skip
    oracle = true_value(cohort, chosen["oracle"])
    captured = {
        rule: 100.0 * true_value(cohort, ids) / oracle if oracle > 0 else 100.0
        for rule, ids in chosen.items()
    }
    return {"captured": captured, "selected": selected}


def clustered_se(errors_by_cohort: list[list[float]]) -> float:
    """SE of the mean error with cohorts as clusters: the selected initiatives of one
    cohort share its fitted prior, so their errors are not independent (ratio-estimator
    linearisation, ``C / (C - 1)`` correction)."""
    sums = np.array([math.fsum(e) for e in errors_by_cohort])
    counts = np.array([len(e) for e in errors_by_cohort], dtype=float)
    clusters, total = len(sums), counts.sum()
    if clusters < 2 or total == 0:
        return math.nan
    mean = sums.sum() / total
    residuals = sums - mean * counts
    return float(math.sqrt(clusters / (clusters - 1) * np.sum(residuals**2)) / total)


def summarise(prior_name: str, rule: str, cohorts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per prior and rule: mean captured per rule, bias with SE, totals and coverage."""
    rules = list(cohorts[0]["captured"])
    captured = {r: float(np.mean([c["captured"][r] for c in cohorts])) for r in rules}
    captured_se = {
        r: float(np.std([c["captured"][r] for c in cohorts], ddof=1) / math.sqrt(len(cohorts)))
        for r in rules
    }
    gaps = [c["captured"][rule] - c["captured"]["bayes_limit"] for c in cohorts]
    selected = [s for c in cohorts for s in c["selected"][rule]]
    errors = np.array([s["predicted"] - s["truth"] for s in selected])
    raw_errors = np.array([s["raw_predicted"] - s["truth"] for s in selected])
    total_true = float(sum(s["truth"] for s in selected))
    total_predicted = float(sum(s["predicted"] for s in selected))

    def rate(key: str) -> float:
        return 100.0 * float(np.mean([s[key] for s in selected]))

    return {
        "prior": prior_name,
        "rule": rule,
        "cohorts": len(cohorts),
        "n_selected": len(selected),
        "captured": captured,
        "captured_se": captured_se,
        "gap_to_bayes_limit": float(np.mean(gaps)),
        "gap_to_bayes_limit_se": float(np.std(gaps, ddof=1) / math.sqrt(len(gaps))),
        "bias": float(errors.mean()),
        "bias_se": clustered_se(
            [[s["predicted"] - s["truth"] for s in c["selected"][rule]] for c in cohorts]
        ),
        "bias_se_independent": float(errors.std(ddof=1) / math.sqrt(len(errors))),
        "raw_bias": float(raw_errors.mean()),
        "total_predicted": total_predicted,
        "total_true": total_true,
        "total_gap_pct": 100.0 * (total_predicted - total_true) / total_true,
        "credible_covers_truth_pct": rate("credible_covers_truth"),
        "prediction_covers_truth_pct": rate("prediction_covers_truth"),
        "prediction_covers_actual_pct": rate("prediction_covers_actual"),
    }


def run_prior(
    prior_name: str,
    n_cohorts: int,
    size: int,
    seed: int,
    noise_scale: float = 1.0,
    earlier: int = 0,
) -> list[dict[str, Any]]:
    """Simulate ``n_cohorts`` cohorts of one prior and summarise them, once per rule;
    each cohort's prior also fitted on ``earlier`` earlier cohorts of the same kind."""
    prior = PRIORS[prior_name]()
    index = list(PRIORS).index(prior_name)
    rng = np.random.default_rng([seed, index])
    earlier_rng = np.random.default_rng([seed, index, 1])
    results = []
    for _ in range(n_cohorts):
        cohort = draw_cohort(prior, size, rng, noise_scale)
        past = [draw_cohort(prior, size, earlier_rng, noise_scale) for _ in range(earlier)]
        results.append(run_cohort(prior, cohort, pilots_of(past)))
    return [{**summarise(prior_name, rule, results), "earlier": earlier} for rule in RULES]


#: the engine's rules on the posterior: name, allocate component, its kwargs
ENGINE_RULES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("minimax", "MinimaxRegretAllocate", {}),
    ("bayesian", "BayesianAllocate", {}),
    ("quantiles", "BayesianAllocate", {"scenario_weights": RAW_WEIGHTS}),
)
RULES = tuple(rule for rule, _, _ in ENGINE_RULES)
HEADERS = ["noise", "earlier", "prior", "rule (posterior)", "captured %", "Bayes limit %",
           "captured - Bayes limit (paired)", "raw knapsack %",
           "original %", "bias ± SE by cohort (raw bias)",
           "Σ pred / Σ true", "CrI covers true %", "PI covers true %", "PI covers actual %",
           "selected"]  # fmt: skip


def table_row(summary: dict[str, Any]) -> list[str]:
    c = summary["captured"]
    return [
        f"x{summary.get('noise', 1.0):g}",
        str(summary.get("earlier", 0)),
        summary["prior"],
        summary["rule"],
        f"{c[summary['rule']]:.1f} ± {summary['captured_se'][summary['rule']]:.1f}",
        f"{c['bayes_limit']:.1f}",
        f"{summary['gap_to_bayes_limit']:+.1f} ± {summary['gap_to_bayes_limit_se']:.1f}",
        f"{c['raw_knapsack']:.1f}",
        f"{c['original']:.1f}",
        f"{summary['bias']:+.2f} ± {summary['bias_se']:.2f} ({summary['raw_bias']:+.2f})",
        f"{summary['total_predicted']:.0f} / {summary['total_true']:.0f} "
        f"({summary['total_gap_pct']:+.1f} %)",
        f"{summary['credible_covers_truth_pct']:.1f}",
        f"{summary['prediction_covers_truth_pct']:.1f}",
        f"{summary['prediction_covers_actual_pct']:.1f}",
        str(summary["n_selected"]),
    ]


def main() -> None:
    args = cohort_options(__doc__.split("\n")[0], cohorts=60, earlier=True)
    started = machine()
    summaries = []
    for noise in args.noise:
        for prior in args.priors:
            for k in args.earlier:
                for summary in run_prior(prior, args.cohorts, args.size, args.seed, noise, k):
                    summaries.append({**summary, "noise": noise})
    print(markdown_table(HEADERS, [table_row(s) for s in summaries]))
    method = METHOD.replace("COHORTS", str(args.cohorts)).replace("SIZE", str(args.size))
    write_result("decision_quality", method, summaries, started)


if __name__ == "__main__":
    main()

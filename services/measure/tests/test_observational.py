"""Subclassification blocks, trimming and overlap checks, and matching's overlap checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ComponentError
from impact_measure.models.blocks import optimal_trimming_bound
from impact_measure.models.matching import MatchingParams, NearestNeighbourMatching
from impact_measure.models.subclassification import Subclassification, SubclassificationParams

from services.measure.tests.datasets import EFFECT, retail

COLUMNS = {"outcome_column": "y", "treatment_column": "t"}


def rare_treatment(seed: int, n: int = 4000, effect: float = 2.0) -> pd.DataFrame:
    """About 5 % treated, concentrated at high ``x``; the outcome is linear in ``x``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    treated = (rng.random(n) < 1 / (1 + np.exp(-(-4.0 + 1.5 * x + 0.5 * z)))).astype(int)
    y = effect * treated + 3.0 * x + z + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": treated, "x": x, "z": z})


@pytest.mark.parametrize(
    ("model", "params"),
    [(NearestNeighbourMatching, MatchingParams), (Subclassification, SubclassificationParams)],
)
def test_a_covariate_that_is_the_treatment_is_refused(model, params):
    frame = retail(seed=1, confounded=True, n=500).assign(copy=lambda f: f["t"])
    with pytest.raises(ComponentError) as error:
        model().estimate(frame, params(**COLUMNS, covariate_columns=["x", "copy"]), seed=0)
    message = str(error.value)
    assert "separates treated and control units completely (no overlap)" in message
    assert "copy alone separates them" in message
    assert "MEASUREMENT.PARAMS.covariate_columns" in message


def test_matching_warns_when_overlap_is_poor_but_not_absent():
    rng = np.random.default_rng(3)
    frame = retail(seed=3, confounded=False, n=600)
    frame["proxy"] = 4.0 * frame["t"] + rng.normal(size=len(frame))
    params = MatchingParams(**COLUMNS, covariate_columns=["x", "proxy"])
    result = NearestNeighbourMatching().estimate(frame, params, seed=0)
    overlap = result.diagnostics["overlap"]
    assert 0.0 < overlap["treated_outside_control_support"] < 1.0
    warnings = result.diagnostics["warnings"]
    assert any("outside the controls' range" in w for w in warnings)
    assert any("above 0.99: almost no control resembles them" in w for w in warnings)
    assert any("'proxy' is still imbalanced after matching" in w for w in warnings)
    assert overlap["treated_above_0_99"] > 0.5
    quantiles = overlap["propensity_quantiles"]
    assert quantiles["treated"][3] > 0.9 > quantiles["control"][3]
    assert not result.ci_lower <= EFFECT <= result.ci_upper  # why the warnings matter


def test_matching_reports_balance_before_and_after():
    frame = retail(seed=4, confounded=True, n=2000)
    params = MatchingParams(**COLUMNS, covariate_columns=["x", "category"], n_neighbors=4)
    diagnostics = NearestNeighbourMatching().estimate(frame, params, seed=0).diagnostics
    assert set(diagnostics["balance"]["before_matching"]) == {
        "x",
        "category=b",
        "category=c",
        "category=d",
    }
    worst = diagnostics["max_abs_standardised_difference"]
    assert worst["before_matching"] > 0.3 > 0.1 > worst["after_matching"]
    assert not any("imbalanced" in w for w in diagnostics["warnings"])


def test_blocks_are_cut_on_the_treated_scores_when_treatment_is_rare():
    frame = rare_treatment(seed=5)
    n_treated = int(frame["t"].sum())
    params = SubclassificationParams(**COLUMNS, covariate_columns=["x", "z"])
    result = Subclassification().estimate(frame, params, seed=0)
    diagnostics = result.diagnostics
    blocks = diagnostics["blocks"]
    assert diagnostics["estimand"] == "ATT"
    assert len(blocks) >= 3
    assert sum(b["n_treated"] for b in blocks) == n_treated == result.n_treated
    assert all(min(b["n_treated"], b["n_control"]) >= 3 for b in blocks)
    assert sum(b["weight"] for b in blocks) == pytest.approx(1.0)
    # every treated block holds about the same number of treated: cuts at treated medians
    treated_counts = [b["n_treated"] for b in blocks]
    assert max(treated_counts) <= 2.5 * min(treated_counts)
    trimming = diagnostics["trimming"]
    assert trimming["treated_trimmed"] == 0 and trimming["controls_trimmed"] > 100
    assert result.n_control == len(frame) - n_treated - trimming["controls_trimmed"]
    assert abs(result.effect - 2.0) < 3 * diagnostics["standard_error"]
    assert result.ci_lower <= 2.0 <= result.ci_upper
    assert max(abs(v) for v in diagnostics["balance"]["after_blocking"].values()) < 0.1
    assert diagnostics["naive_difference"] > 5.0


def test_fixed_quantile_strata_stay_available_and_say_when_merged():
    frame = rare_treatment(seed=6, n=1500)
    params = SubclassificationParams(**COLUMNS, covariate_columns=["x", "z"], n_strata=40)
    diagnostics = Subclassification().estimate(frame, params, seed=0).diagnostics
    assert "fixed quantile blocks" in diagnostics["estimator"]
    assert diagnostics["n_blocks"] < 40
    assert any("40 strata requested" in w for w in diagnostics["warnings"])
    assert all(min(b["n_treated"], b["n_control"]) >= 3 for b in diagnostics["blocks"])


def test_ate_trims_extreme_scores_by_the_crump_rule_and_says_so():
    frame = rare_treatment(seed=7, n=3000)
    params = SubclassificationParams(**COLUMNS, covariate_columns=["x", "z"], estimand="ATE")
    result = Subclassification().estimate(frame, params, seed=0)
    diagnostics = result.diagnostics
    low, high = diagnostics["trimming"]["propensity_bounds"]
    assert 0.0 < low < 0.5 and high == pytest.approx(1.0 - low)
    trimmed = (
        diagnostics["trimming"]["treated_trimmed"] + diagnostics["trimming"]["controls_trimmed"]
    )
    assert trimmed > 0.1 * len(frame)
    assert diagnostics["estimand"] == "ATE over the trimmed population"
    assert any("trimmed for lack of overlap" in w for w in diagnostics["warnings"])
    assert result.sample_size == len(frame) - trimmed
    assert result.ci_lower <= 2.0 <= result.ci_upper


def test_optimal_trimming_bound():
    assert optimal_trimming_bound(np.linspace(0.3, 0.7, 101)) == 0.0
    score = np.concatenate([np.full(900, 0.5), np.full(100, 0.01)])
    alpha = optimal_trimming_bound(score)
    assert 0.01 < alpha < 0.5  # the 0.01 scores go, the 0.5 ones stay
    kept = score[(score >= alpha) & (score <= 1 - alpha)]
    assert len(kept) == 900


def test_categorical_effect_is_recovered_with_the_ate_too():
    frame = retail(seed=11, confounded=True)
    params = SubclassificationParams(**COLUMNS, covariate_columns=["x", "category"], estimand="ATE")
    result = Subclassification().estimate(frame, params, seed=0)
    assert result.ci_lower <= EFFECT <= result.ci_upper
    assert abs(result.effect - EFFECT) < 3 * result.diagnostics["standard_error"]


def test_one_binary_covariate_gives_exact_strata_without_warnings():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 600)
    treated = (rng.random(600) < 0.2 + 0.4 * group).astype(int)
    frame = pd.DataFrame({"y": treated + group + rng.normal(size=600), "t": treated, "g": group})
    params = SubclassificationParams(**COLUMNS, covariate_columns=["g"])
    result = Subclassification().estimate(frame, params, seed=0)
    blocks = result.diagnostics["blocks"]
    assert [b["n_treated"] + b["n_control"] for b in blocks] == [
        int((group == 0).sum()),
        int((group == 1).sum()),
    ]
    assert all(b["score_t_statistic"] == 0.0 for b in blocks)
    assert result.diagnostics["warnings"] == []
    assert result.ci_lower <= 1.0 <= result.ci_upper


def test_without_trimming_or_regression_blocks_alone_remove_most_of_the_bias():
    frame = rare_treatment(seed=8)
    params = SubclassificationParams(
        **COLUMNS, covariate_columns=["x", "z"], trim=False, regression_adjustment=False
    )
    result = Subclassification().estimate(frame, params, seed=0)
    diagnostics = result.diagnostics
    assert diagnostics["trimming"] == {"rule": "none", "treated_trimmed": 0, "controls_trimmed": 0}
    assert result.sample_size == len(frame)
    assert "regression-adjusted" not in diagnostics["estimator"]
    naive_bias = diagnostics["naive_difference"] - 2.0
    assert abs(result.effect - 2.0) < 0.1 * naive_bias
    # untrimmed, the lowest block holds a few treated among many far-off controls
    assert any("too small to split" in w for w in diagnostics["warnings"])


def test_matching_variance_uses_variance_matches_controls() -> None:
    """The Abadie-Imbens conditional variances come from ``variance_matches`` (J) other
    controls, independently of ``n_neighbors``; the point estimate does not depend on J."""
    frame = retail(3, confounded=True, n=600)
    base = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x"]}
    fits = {
        j: NearestNeighbourMatching().estimate(
            frame,
            MatchingParams.model_validate({**base, "n_neighbors": 4, "variance_matches": j}),
            0,
        )
        for j in (1, 2, 4)
    }
    assert fits[2].diagnostics["variance"] == (
        "Abadie-Imbens (2006), conditional variances from 2 control-to-control matches"
    )
    assert len({fit.effect for fit in fits.values()}) == 1
    assert len({fit.diagnostics["standard_error"] for fit in fits.values()}) == 3

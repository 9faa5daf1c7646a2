"""Matching and subclassification reproduce published observational studies on real data.

Data: the PyPI package ``causaldata`` 0.1.5 (Nick Huntington-Klein; MIT licence), which ships
- ``nsw_mixtape``: the Dehejia & Wahba (1999) subsample of LaLonde's (1986) National
  Supported Work experiment, 185 treated and 260 control men;
- ``cps_mixtape``: LaLonde's CPS-1 comparison group, 15,992 men;
- ``nhefs_complete``: the NHEFS cohort with complete follow-up (1,566 smokers), as used by
  Hernán & Robins, *Causal Inference: What If* (2020), ch. 12-15.

Published figures:
- NSW: the experimental difference in 1978 earnings is $1,794 (Dehejia & Wahba 1999, Table 3),
  the benchmark an observational comparison (NSW treated vs CPS-1) should recover. The
  specification is Dehejia & Wahba's for CPS: age, age², education, education², married,
  no degree, black, hispanic, re74, re75, re74², re75², u74, u75, education·re74.
- NHEFS: quitting smoking (``qsmk``) raised weight gain 1971-82 (``wt82_71``) by 3.4 kg,
  95 % CI [2.4, 4.5] (inverse probability weighting, Hernán & Robins, ch. 12), and 3.5 kg
  [2.6, 4.5] by standardisation (ch. 13), adjusting for sex, race, age, age², education,
  smoking intensity and its square, years of smoking and its square, exercise, activity,
  weight in 1971 and its square. That estimand is the ATE; matching estimates the ATT, which
  is compared with the same figure (the effect varies little with the covariates there).

Each check: the published figure inside the 95 % CI and the estimate within 20 % of it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from impact_measure.models.base import Estimate
from impact_measure.models.experiment import Experiment, ExperimentParams
from impact_measure.models.matching import MatchingParams, NearestNeighbourMatching
from impact_measure.models.subclassification import Subclassification, SubclassificationParams

causaldata = pytest.importorskip("causaldata")

NSW_EXPERIMENTAL_EFFECT = 1794.34
NHEFS_PUBLISHED_EFFECT = 3.4
DEHEJIA_WAHBA_CPS = [
    "age", "age2", "educ", "educ2", "marr", "nodegree", "black", "hisp",
    "re74", "re75", "re74_2", "re75_2", "u74", "u75", "educ_re74",
]  # fmt: skip
HERNAN_ROBINS = [
    "sex", "race", "age", "age2", "education", "smokeintensity", "smokeintensity2",
    "smokeyrs", "smokeyrs2", "exercise", "active", "wt71", "wt71_2",
]  # fmt: skip


def nsw_treated_vs_cps() -> pd.DataFrame:
    """NSW treated and CPS-1 controls, with Dehejia & Wahba's derived columns."""
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    frame = pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True)
    return frame.assign(
        age2=frame["age"] ** 2,
        educ2=frame["educ"] ** 2,
        re74_2=frame["re74"] ** 2,
        re75_2=frame["re75"] ** 2,
        u74=(frame["re74"] == 0).astype(int),
        u75=(frame["re75"] == 0).astype(int),
        educ_re74=frame["educ"] * frame["re74"],
    )


def nhefs() -> pd.DataFrame:
    """NHEFS complete cases with Hernán & Robins' squared terms (categories stay text)."""
    frame = causaldata.nhefs_complete.load_pandas().data
    return frame.assign(
        age2=frame["age"] ** 2,
        smokeintensity2=frame["smokeintensity"] ** 2,
        smokeyrs2=frame["smokeyrs"] ** 2,
        wt71_2=frame["wt71"] ** 2,
    )


def assert_reproduces(estimate, published: float) -> None:
    assert estimate.ci_lower <= published <= estimate.ci_upper
    assert abs(estimate.effect - published) < 0.2 * abs(published)


def reproduced_on_cps(frame: pd.DataFrame, model: Any, params_class: Any) -> Estimate:
    """``model``'s estimate on NSW treated vs CPS-1 controls with the Dehejia-Wahba
    covariates, checked to reproduce the experimental benchmark."""
    params = params_class(
        outcome_column="re78", treatment_column="treat", covariate_columns=DEHEJIA_WAHBA_CPS
    )
    result: Estimate = model.estimate(frame, params, seed=0)
    print(f"NSW vs CPS-1, {type(model).__name__}: {result.effect:.0f} "
          f"[{result.ci_lower:.0f}, {result.ci_upper:.0f}]")  # fmt: skip
    assert_reproduces(result, NSW_EXPERIMENTAL_EFFECT)
    return result


def test_nsw_experiment_gives_the_published_benchmark():
    nsw = causaldata.nsw_mixtape.load_pandas().data
    params = ExperimentParams(outcome_column="re78", treatment_column="treat")
    result = Experiment().estimate(nsw, params, seed=0)
    assert (result.n_treated, result.n_control) == (185, 260)
    assert result.effect == pytest.approx(NSW_EXPERIMENTAL_EFFECT, abs=1.0)
    assert result.ci_lower <= NSW_EXPERIMENTAL_EFFECT <= result.ci_upper


@pytest.mark.slow
def test_subclassification_recovers_the_experiment_from_cps_controls():
    frame = nsw_treated_vs_cps()
    result = reproduced_on_cps(frame, Subclassification(), SubclassificationParams)
    diagnostics = result.diagnostics
    assert diagnostics["estimand"] == "ATT"
    trimming = diagnostics["trimming"]
    assert trimming["treated_trimmed"] == 0 and trimming["controls_trimmed"] > 5_000
    assert result.n_treated == 185
    assert result.n_control == len(frame) - 185 - trimming["controls_trimmed"]
    blocks = diagnostics["blocks"]
    assert diagnostics["n_blocks"] == len(blocks) >= 4
    assert sum(b["n_treated"] for b in blocks) == 185
    assert all(min(b["n_treated"], b["n_control"]) >= 3 for b in blocks)
    assert max(abs(d) for d in diagnostics["balance"]["after_blocking"].values()) < 0.25
    assert diagnostics["naive_difference"] == pytest.approx(-8_498, abs=1)  # as published


@pytest.mark.slow
def test_matching_recovers_the_experiment_from_cps_controls():
    result = reproduced_on_cps(nsw_treated_vs_cps(), NearestNeighbourMatching(), MatchingParams)
    overlap = result.diagnostics["overlap"]
    assert overlap["treated_outside_control_support"] == 0.0
    assert overlap["controls_outside_treated_support"] > 0.5
    assert result.diagnostics["max_abs_standardised_difference"]["after_matching"] < 0.1
    assert result.diagnostics["warnings"] == []


@pytest.mark.slow
def test_subclassification_reproduces_the_nhefs_smoking_cessation_effect():
    params = SubclassificationParams(
        outcome_column="wt82_71",
        treatment_column="qsmk",
        covariate_columns=HERNAN_ROBINS,
        estimand="ATE",
    )
    result = Subclassification().estimate(nhefs(), params, seed=0)
    print(f"NHEFS, subclassification (ATE): {result.effect:.2f} "
          f"[{result.ci_lower:.2f}, {result.ci_upper:.2f}]")  # fmt: skip
    assert_reproduces(result, NHEFS_PUBLISHED_EFFECT)
    assert result.diagnostics["estimand"] == "ATE over the trimmed population"
    trimming = result.diagnostics["trimming"]
    assert 0 < trimming["treated_trimmed"] + trimming["controls_trimmed"] < 0.1 * 1566
    assert 0.0 < trimming["propensity_bounds"][0] < 0.15


@pytest.mark.slow
def test_matching_reproduces_the_nhefs_smoking_cessation_effect():
    params = MatchingParams(
        outcome_column="wt82_71", treatment_column="qsmk", covariate_columns=HERNAN_ROBINS
    )
    result = NearestNeighbourMatching().estimate(nhefs(), params, seed=0)
    print(f"NHEFS, matching (ATT): {result.effect:.2f} "
          f"[{result.ci_lower:.2f}, {result.ci_upper:.2f}]")  # fmt: skip
    assert_reproduces(result, NHEFS_PUBLISHED_EFFECT)
    assert result.diagnostics["covariate_coding"]["education"]["type"] == "categorical"

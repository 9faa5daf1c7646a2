"""The confounded-design benchmark, small: matching and subclassification stay unbiased and
their 95 % CIs cover about 95 % (docs/measure.md has the 200-replicate figures)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.measure_confounded import DESIGNS, MODEL_PARAMS, run_design, summarise

REPLICATES = 100


@pytest.mark.slow
def test_adjusted_estimates_are_unbiased_and_cover_on_the_pilot_design() -> None:
    rows = {row["model"]: row for row in run_design(DESIGNS[0], REPLICATES)}
    assert set(rows) == set(MODEL_PARAMS)
    for row in rows.values():
        print(row)
        assert abs(row["bias"]) < 3 * row["bias_mc_se"]
        # 95 % nominal: 86 of 100 or fewer happens with probability < 0.3 %, 100 of 100 < 1 %.
        assert 0.87 <= row["coverage"] < 1.0
        assert 0.7 < row["se_over_sd"] < 1.4
        assert row["naive_bias"] > 10 * row["bias_mc_se"]


def test_summary_of_known_draws() -> None:
    truth = np.full(4, 2.0)
    draws = np.column_stack(
        [truth, [1.0, 3.0, 2.0, 2.0], [0.0, 2.5, 1.0, 1.0], [2.5, 4.0, 3.0, 3.0]]
    )
    summary = summarise(draws)
    assert summary["bias"] == 0.0
    assert summary["coverage"] == 0.75
    assert summary["coverage_interval"][0] < 0.75 < summary["coverage_interval"][1]
    assert summary["mean_ci_width"] == pytest.approx(2.0)

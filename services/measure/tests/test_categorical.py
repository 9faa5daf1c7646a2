"""String / categorical covariates are dummy-coded in every model that takes covariates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ConfigError
from impact_measure.models.experiment import Experiment, ExperimentParams
from impact_measure.models.matching import MatchingParams, NearestNeighbourMatching
from impact_measure.models.subclassification import Subclassification, SubclassificationParams

from services.measure.tests.datasets import CODING, EFFECT, retail

COLUMNS = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x", "category"]}
MODELS: dict[str, tuple[Any, Any, bool, float]] = {
    # model, params, confounded data, tolerance: 3-3.5 standard errors at n = 3000
    # (measured SEs 0.072, 0.088, 0.086)
    "experiment": (Experiment, ExperimentParams(**COLUMNS), False, 0.25),
    "matching": (NearestNeighbourMatching, MatchingParams(**COLUMNS, n_neighbors=4), True, 0.3),
    "subclassification": (Subclassification, SubclassificationParams(**COLUMNS), True, 0.3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_categorical_covariate_recovers_the_known_effect(name):
    model, params, confounded, tolerance = MODELS[name]
    frame = retail(seed=11, confounded=confounded)
    result = model().estimate(frame, params, seed=0)
    assert abs(result.effect - EFFECT) < tolerance
    assert result.ci_lower <= EFFECT <= result.ci_upper
    assert result.diagnostics["covariate_coding"] == {"x": {"type": "numeric"}, "category": CODING}
    if confounded:  # the naive contrast is biased by the category shift
        assert result.diagnostics["naive_difference"] - EFFECT > 2.0


def test_baseline_is_the_most_frequent_level_ties_broken_by_sort_order():
    frame = retail(seed=2, confounded=False, n=400)
    frame["category"] = np.where(np.arange(400) % 2 == 0, "zeta", "alpha")  # a tie
    frame["store"] = pd.Categorical(np.where(np.arange(400) % 4 == 0, "north", "south"))
    params = ExperimentParams(
        outcome_column="y", treatment_column="t", covariate_columns=["category", "store"]
    )
    coding = Experiment().estimate(frame, params, seed=0).diagnostics["covariate_coding"]
    assert coding["category"]["baseline"] == "alpha"
    assert coding["category"]["columns"] == ["category=zeta"]
    assert coding["store"] == {
        "type": "categorical",
        "levels": ["north", "south"],
        "baseline": "south",
        "columns": ["store=north"],
    }


def test_an_identifier_column_is_refused_with_its_level_count():
    frame = retail(seed=3, confounded=False, n=100)
    frame["sku"] = [f"P{i:04d}" for i in range(100)]
    params = ExperimentParams(outcome_column="y", treatment_column="t", covariate_columns=["sku"])
    with pytest.raises(ConfigError) as info:
        Experiment().estimate(frame, params, seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.covariate_columns[0]: column 'sku' must be numeric or a category "
        "with at most 50 levels in 100 rows; got str with 100 distinct values (an identifier?)"
    )

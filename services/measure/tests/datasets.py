"""Seeded data sets with known effects for the measure tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from impact_measure.models.synth_data import SyntheticControlParams

EFFECT = 3.0
LEVEL_SHIFT = {"a": 0.0, "b": 10.0, "c": -5.0, "d": 20.0}
CODING = {
    "type": "categorical",
    "levels": ["a", "b", "c", "d"],
    "baseline": "a",
    "columns": ["category=b", "category=c", "category=d"],
}


def retail(seed: int, confounded: bool, n: int = 3000) -> pd.DataFrame:
    """Outcome shifted by category; treatment more likely in b and d when ``confounded``."""
    rng = np.random.default_rng(seed)
    category = rng.choice(list(LEVEL_SHIFT), size=n, p=[0.4, 0.3, 0.2, 0.1])
    x = rng.normal(size=n)
    logit = -0.5 + 1.5 * np.isin(category, ["b", "d"]) + 0.5 * x if confounded else 0.0 * x
    treated = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    shift = pd.Series(category).map(LEVEL_SHIFT).to_numpy()
    y = EFFECT * treated + shift + 2.0 * x + rng.normal(scale=2.0, size=n)
    return pd.DataFrame({"y": y, "t": treated, "x": x, "category": category})


def factor_panel(
    seed: int,
    effect: float = 0.0,
    n_units: int = 30,
    n_periods: int = 120,
    n_post: int = 20,
    noise: float = 1.0,
) -> pd.DataFrame:
    """A daily long panel ``unit, date, y`` from a 3-factor model with a weekly pattern.

    Unit ``u00`` is treated from period ``n_periods - n_post`` on (``effect`` added); its
    factor loadings are the mean of donors 1-5's, so a convex synthetic control exists.
    """
    rng = np.random.default_rng(seed)
    weekly = np.tile([0.0, 1.0, 1.5, 1.0, 0.5, 3.0, 4.0], n_periods // 7 + 1)[:n_periods]
    factors = np.column_stack([weekly, rng.normal(size=(n_periods, 2)).cumsum(axis=0) * 0.5])
    loadings = rng.uniform(0.5, 1.5, size=(n_units, 3))
    loadings[0] = loadings[1:6].mean(axis=0)
    levels = rng.normal(20.0, 3.0, size=n_units)
    y = levels + factors @ loadings.T + rng.normal(scale=noise, size=(n_periods, n_units))
    y[n_periods - n_post :, 0] += effect
    dates = pd.date_range("2024-01-01", periods=n_periods, freq="D")
    units = [f"u{i:02d}" for i in range(n_units)]
    return pd.DataFrame(
        {
            "unit": np.tile(units, n_periods),
            "date": np.repeat(dates, n_units),
            "y": y.ravel(),
        }
    )


def panel_treatment_time(n_periods: int = 120, n_post: int = 20) -> str:
    return str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=n_periods - n_post)).date())


#: the columns of ``factor_panel`` and its treated unit, as synthetic control PARAMS
FACTOR_PANEL_COLUMNS: dict[str, Any] = {
    "outcome_column": "y",
    "unit_column": "unit",
    "time_column": "date",
    "treated_unit": "u00",
}


def factor_panel_params(**extra: Any) -> SyntheticControlParams:
    """Synthetic control PARAMS for ``factor_panel``."""
    return SyntheticControlParams(
        **FACTOR_PANEL_COLUMNS, treatment_time=panel_treatment_time(), **extra
    )

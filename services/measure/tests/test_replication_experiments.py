"""Classic experiments with published answers, measured as a user would: the public data
written to a CSV and measured by the ``experiment`` model through the file source and the
``Measure`` component, default settings unless named.

Data: the ``causaldata`` package (PyPI 0.1.5, MIT licence; Nick Huntington-Klein), which ships
the data sets used in Cunningham's *Causal Inference: The Mixtape*:
- ``nsw_mixtape``: the NSW experimental sample of Dehejia & Wahba (1999; LaLonde 1986),
  185 treated and 260 controls;
- ``cps_mixtape``: the CPS-1 comparison group of Dehejia & Wahba (1999), 15,992 people;
- ``thornton_hiv``: the Malawi HIV-results incentive experiment of Thornton (2008).

Published figures:
- Dehejia & Wahba (1999), JASA 94(448), Table 3: experimental NSW estimate of the effect on
  1978 earnings $1,794; the unadjusted difference between NSW treated and CPS-1, -$8,498.
- Thornton (2008), AER 98(5), Table 4, column 1 (OLS; attendance at the HIV results centres):
  any incentive 0.431 (se 0.023); the abstract: without any incentive 34 percent learned
  their results. On the public data (2,834 people with both the incentive and the outcome
  recorded) the difference in means is 0.451 and the control share 0.339; rows missing
  either are dropped with ``missing: drop_rows``, the only non-default setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import causaldata
import pandas as pd
import pytest
from impact_measure import Measure


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replication")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    nsw.to_csv(root / "nsw.csv", index=False)
    pd.concat([nsw[nsw["treat"] == 1], cps]).to_csv(root / "nsw_cps1.csv", index=False)
    causaldata.thornton_hiv.load_pandas().data.to_csv(root / "thornton.csv", index=False)
    return root


def experiment(root: Path, path: str, **params: Any) -> dict[str, Any]:
    config = {
        "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": path}}},
        "MEASUREMENT": {"MODEL": "experiment", "PARAMS": params},
    }
    component = Measure(data_root=str(root), cache=False)
    return component.execute({"initiative_id": path, "measure_config": config})


def assert_replicates(result: dict[str, Any], published: float) -> None:
    """The published figure inside the CI, and the estimate within 20 % of it."""
    assert result["ci_lower"] < published < result["ci_upper"]
    assert result["effect_estimate"] == pytest.approx(published, rel=0.20)


def test_nsw_experimental_sample(data_root: Path) -> None:
    result = experiment(data_root, "nsw.csv", outcome_column="re78", treatment_column="treat")
    assert_replicates(result, 1794.0)
    assert round(result["effect_estimate"]) == 1794  # 1,794.34
    assert (result["n_treated"], result["n_control"]) == (185, 260)


def test_nsw_treated_vs_cps1_unadjusted_difference(data_root: Path) -> None:
    result = experiment(data_root, "nsw_cps1.csv", outcome_column="re78", treatment_column="treat")
    assert_replicates(result, -8498.0)
    assert round(result["effect_estimate"]) == -8498  # -8,497.52
    assert (result["n_treated"], result["n_control"]) == (185, 15992)


def test_thornton_any_incentive_raises_learning_hiv_results(data_root: Path) -> None:
    result = experiment(
        data_root, "thornton.csv", outcome_column="got", treatment_column="any", missing="drop_rows"
    )
    assert_replicates(result, 0.431)
    assert result["effect_estimate"] == pytest.approx(0.4506, abs=1e-4)
    assert result["sample_size"] == 2834

"""Bad configs raise ConfigError naming the key path; bad data raise clear errors."""

from __future__ import annotations

import pytest
from impact_contracts import ComponentError, ConfigError
from impact_measure import Measure


def with_params(config, **params):
    merged = {**config["MEASUREMENT"]["PARAMS"], **params}
    return {**config, "MEASUREMENT": {**config["MEASUREMENT"], "PARAMS": merged}}


def test_missing_column_names_the_key_path_and_the_columns(run, build):
    config = with_params(build("experiment", seed=1), outcome_column="rev")
    with pytest.raises(ConfigError) as info:
        run(config)
    message = str(info.value)
    assert message.startswith("MEASUREMENT.PARAMS.outcome_column: column 'rev' not in data")
    assert "baseline_revenue" in message


def test_unknown_keys_are_rejected_with_their_path(run, build):
    config = build("experiment", seed=1)
    config["DATA"]["SOURCE"]["CONFIG"]["n_product"] = 10
    with pytest.raises(ConfigError, match=r"DATA\.SOURCE\.CONFIG\.n_product: unknown key"):
        run(config)
    with pytest.raises(ConfigError, match=r"MEASUREMENT\.PARAMS\.n_strata: unknown key"):
        run(with_params(build("experiment", seed=1), n_strata=3))
    with pytest.raises(ConfigError, match=r"^DATUM: unknown key"):
        run({**build("experiment"), "DATUM": {}})


def test_wrong_types_and_unknown_names(run, build):
    with pytest.raises(ConfigError, match=r"MEASUREMENT\.PARAMS\.alpha"):
        run(with_params(build("experiment"), alpha="five"))
    bad_model = build("experiment")
    bad_model["MEASUREMENT"]["MODEL"] = "regression_discontinuity"
    with pytest.raises(ConfigError, match=r"MEASUREMENT\.MODEL: unknown model"):
        run(bad_model)
    bad_source = build("experiment")
    bad_source["DATA"]["SOURCE"]["type"] = "bigquery"
    with pytest.raises(ConfigError, match=r"DATA\.SOURCE\.type: unknown source type 'bigquery'"):
        run(bad_source)
    with pytest.raises(ConfigError, match=r"covariate_columns\[0\]: column 'product_id' must be"):
        run(with_params(build("experiment"), covariate_columns=["product_id"]))


def test_too_few_rows_is_a_component_error(run, build):
    config = build("experiment", seed=1)
    with pytest.raises(ComponentError, match="too few rows for a measurement: 20 < 30"):
        run(config, sample_size=20)


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "pilot.csv").write_text("a,b\n1,2\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    (root / "link.csv").symlink_to(outside)
    return root


def file_config(path):
    return {
        "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": path}}},
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": "a", "treatment_column": "b"},
        },
    }


@pytest.mark.parametrize("path", ["../secret.csv", "link.csv", "/etc/passwd.csv"])
def test_file_source_rejects_paths_escaping_the_data_root(data_root, path):
    component = Measure(data_root=str(data_root))
    with pytest.raises(ConfigError, match=r"DATA\.SOURCE\.CONFIG\.path: path escapes data root"):
        component.execute({"initiative_id": "i", "measure_config": file_config(path)})


def test_missing_file_is_named(data_root):
    component = Measure(data_root=str(data_root))
    with pytest.raises(ConfigError, match=r"file not found: nope\.csv"):
        component.execute({"initiative_id": "i", "measure_config": file_config("nope.csv")})

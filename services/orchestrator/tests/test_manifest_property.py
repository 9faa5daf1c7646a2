"""Property: random valid manifests load; any single corruption is rejected with an error
naming its key path."""

from __future__ import annotations

import copy
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from impact_contracts import MODEL_TYPES
from impact_orchestrator.manifest import ManifestError, load_manifest

from services.orchestrator.tests.fakes import FAKE_CATALOGS, measure_config

ids = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
positive = st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    initiative_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    content: dict[str, Any] = {
        "budget": draw(positive),
        "scale_sample_size": draw(st.integers(30, 100_000)),
        "max_workers": draw(st.integers(1, 16)),
        "INITIATIVES": [
            {
                "initiative_id": initiative_id,
                "cost_to_scale": draw(positive),
                "measure_config": measure_config(draw(st.sampled_from(MODEL_TYPES))),
            }
            for initiative_id in initiative_ids
        ],
    }
    if draw(st.booleans()):
        content["deadline"] = draw(positive)
        content["deadline_policy"] = draw(st.sampled_from(["fail", "proceed"]))
    if draw(st.booleans()):
        content["seed"] = draw(st.integers(0, 2**31))
    return content


def load(content: dict[str, Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "manifest.yaml"
        path.write_text(yaml.safe_dump(content), encoding="utf-8")
        return load_manifest(path, catalogs=FAKE_CATALOGS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_valid_manifests_load(content: dict[str, Any]) -> None:
    loaded = load(content)
    assert loaded.budget == content["budget"]
    assert loaded.scale_sample_size == content["scale_sample_size"]
    assert [s.initiative_id for s in loaded.initiatives] == [
        i["initiative_id"] for i in content["INITIATIVES"]
    ]
    assert [s.measure_config for s in loaded.initiatives] == [
        i["measure_config"] for i in content["INITIATIVES"]
    ]
    assert loaded.deadline_policy == content.get("deadline_policy", "proceed")


Corruption = Callable[[dict[str, Any], int], str]


def _negative_budget(m: dict[str, Any], _: int) -> str:
    m["budget"] = -m["budget"]
    return "manifest.yaml: budget: must be > 0"


def _small_sample(m: dict[str, Any], _: int) -> str:
    m["scale_sample_size"] = 29
    return "manifest.yaml: scale_sample_size: must be >= 30"


def _unknown_key(m: dict[str, Any], _: int) -> str:
    m["budgett"] = 1
    return "manifest.yaml: budgett: unknown key"


def _zero_cost(m: dict[str, Any], i: int) -> str:
    m["INITIATIVES"][i]["cost_to_scale"] = 0
    return f"manifest.yaml: INITIATIVES[{i}].cost_to_scale: must be > 0"


def _bad_model(m: dict[str, Any], i: int) -> str:
    m["INITIATIVES"][i]["measure_config"]["MEASUREMENT"]["MODEL"] = "astrology"
    return f"manifest.yaml: INITIATIVES[{i}].measure_config.MEASUREMENT.MODEL: must be one of"


def _missing_file(m: dict[str, Any], i: int) -> str:
    m["INITIATIVES"][i]["measure_config"] = "configs/none.yaml"
    return f"manifest.yaml: INITIATIVES[{i}].measure_config: file not found: configs/none.yaml"


def _missing_id(m: dict[str, Any], i: int) -> str:
    del m["INITIATIVES"][i]["initiative_id"]
    return f"manifest.yaml: INITIATIVES[{i}].initiative_id: required key is missing"


def _duplicate_id(m: dict[str, Any], i: int) -> str:
    m["INITIATIVES"].append(copy.deepcopy(m["INITIATIVES"][i]))
    last = len(m["INITIATIVES"]) - 1
    return f"manifest.yaml: INITIATIVES[{last}].initiative_id: duplicate"


def _bad_policy(m: dict[str, Any], _: int) -> str:
    m["deadline_policy"] = "maybe"
    return "manifest.yaml: deadline_policy: must be one of 'fail' or 'proceed'"


CORRUPTIONS = [
    _negative_budget,
    _small_sample,
    _unknown_key,
    _zero_cost,
    _bad_model,
    _missing_file,
    _missing_id,
    _duplicate_id,
    _bad_policy,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), st.sampled_from(CORRUPTIONS), st.data())
def test_corruptions_are_rejected_naming_the_key_path(
    content: dict[str, Any], corrupt: Corruption, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(content["INITIATIVES"]) - 1))
    expected = corrupt(content, index)
    with pytest.raises(ManifestError) as caught:
        load(content)
    assert any(error.startswith(expected) for error in caught.value.errors), caught.value.errors

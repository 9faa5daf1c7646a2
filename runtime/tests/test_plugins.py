"""IMPACT_PLUGINS: modules imported before a service starts."""

from __future__ import annotations

import sys

import pytest
from impact_contracts import ConfigError
from impact_runtime import ServiceSettings
from impact_runtime.plugins import load_plugins


def test_plugins_are_read_from_the_env_and_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_PLUGINS", " json , colorsys,")
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    settings = ServiceSettings(service_name="x", bootstrap_servers="b:1")
    assert load_plugins(settings.plugins) == ["json", "colorsys"]
    assert "colorsys" in sys.modules


def test_no_plugins_by_default() -> None:
    assert load_plugins(ServiceSettings(service_name="x", bootstrap_servers="b:1").plugins) == []


def test_a_missing_plugin_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="IMPACT_PLUGINS: cannot import 'no_such_plugin_mod'"):
        load_plugins("no_such_plugin_mod")

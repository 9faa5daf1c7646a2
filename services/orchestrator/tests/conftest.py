"""Fixtures: fake component registries and a YAML writer under ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_orchestrator.manifest import Registries

from services.orchestrator.tests.fakes import FAKE_REGISTRIES


@pytest.fixture
def registries() -> Registries:
    return FAKE_REGISTRIES


WriteYaml = Callable[[str, Any], Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """``write_yaml("configs/a.yaml", {...})`` writes YAML under ``tmp_path``."""

    def write(relative: str, content: Any) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write

"""Fixtures: fake component catalogs, a YAML writer under ``tmp_path``, and a storage
root of the session's own (run archives never land in the working tree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_orchestrator.manifest import Catalogs

from services.orchestrator.tests.fakes import FAKE_CATALOGS


@pytest.fixture(scope="session", autouse=True)
def storage_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``IMPACT_STORAGE_ROOT`` for every test (a test may monkeypatch its own)."""
    root = tmp_path_factory.mktemp("storage")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMPACT_STORAGE_ROOT", str(root))
        yield root


@pytest.fixture
def catalogs() -> Catalogs:
    return FAKE_CATALOGS


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

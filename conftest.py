"""Repository-wide pytest setup: shared fixtures live in tests/support/ as plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.kafka",
    "tests.support.cluster",
    "tests.support.registry",
    "tests.support.browser",
    "tests.support.datastores",
]


@pytest.fixture(scope="session", autouse=True)
def session_storage_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``IMPACT_STORAGE_ROOT`` of the session's own, also for the service processes the
    tests start: run archives, the embedded run history and the measure result cache never
    land in the working tree, and no session reuses another's cached results. A test may
    monkeypatch its own."""
    root = tmp_path_factory.mktemp("session-storage")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMPACT_STORAGE_ROOT", str(root))
        patch.setenv("IMPACT_HISTORY_DIR", str(root / "runs"))  # embedded runs' history
        yield root

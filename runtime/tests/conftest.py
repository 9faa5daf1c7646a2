"""Shared helpers for runtime tests."""

from __future__ import annotations

import pytest
from impact_runtime import ServiceSettings


@pytest.fixture
def settings() -> ServiceSettings:
    """Settings for FakeBus tests (no broker is contacted)."""
    return ServiceSettings(
        service_name="unit", bootstrap_servers="127.0.0.1:1", retry_backoff_s=0.2, max_retries=3
    )

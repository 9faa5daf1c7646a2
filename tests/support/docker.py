"""Is there a Docker engine (and ``docker compose`` v2) for the tests that need one?

Locally a missing engine skips those tests; in CI (``CI=true``, where ``.ci/run`` starts
the engine) or with ``IMPACT_REQUIRE_DOCKER=1`` it fails them, so they never pass
silently unrun.
"""

from __future__ import annotations

import os
import subprocess

import pytest


def _answers(*command: str) -> bool:
    try:
        result = subprocess.run(command, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def docker_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("IMPACT_REQUIRE_DOCKER") == "1"


def require_docker(*, compose: bool = False) -> None:
    """Skip (or fail, in CI) unless the engine answers and, if asked, compose v2 too."""
    missing = []
    if not _answers("docker", "info"):
        missing.append("a Docker engine (python3 scripts/docker_engine.py start)")
    if compose and not _answers("docker", "compose", "version"):
        missing.append("docker compose v2 (python3 scripts/docker_engine.py compose)")
    if not missing:
        return
    unavailable("needs " + " and ".join(missing) + "; see docs/deployment.md")


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    if docker_required():
        pytest.fail(reason)
    pytest.skip(reason)

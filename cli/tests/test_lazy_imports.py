"""Start-up cost: what ``impact --help`` and a service's start import.

Each check runs in a fresh interpreter and reads ``sys.modules``, so an eager import of a
heavy library anywhere on the path (a package ``__init__``, a module-level import in a
command module) fails it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "scipy", "statsmodels", "pulp", "fastapi", "uvicorn", "aiokafka")
STAGE_COMPUTE = ("numpy", "pandas", "scipy", "statsmodels", "pulp")


def imported_after(code: str, candidates: tuple[str, ...]) -> list[str]:
    """The ``candidates`` present in ``sys.modules`` after running ``code``."""
    report = f"print(json.dumps([m for m in {candidates!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_cli_imports_no_heavy_library() -> None:
    assert imported_after("import impact_cli.main", HEAVY) == []


def test_help_builds_no_pydantic_contract() -> None:
    code = (
        "import sys\nfrom impact_cli.main import app\nsys.argv = ['impact', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert imported_after(code, ("impact_contracts.events", "impact_contracts.models")) == []


@pytest.mark.parametrize("service", ["measure", "evaluate", "allocate", "orchestrator"])
def test_a_service_starts_without_the_stage_computation_libraries(service: str) -> None:
    """The stage components (and their libraries) load on first use, not at start."""
    assert imported_after(f"import impact_{service}.service", STAGE_COMPUTE) == []


def test_the_lazy_names_still_resolve() -> None:
    code = (
        "import impact_contracts, impact_measure, impact_allocate, impact_orchestrator\n"
        "for package in (impact_contracts, impact_measure, impact_allocate, impact_orchestrator):\n"
        "    [getattr(package, name) for name in package.__all__]\n"
        "from impact_measure import MEASURE_COMPONENTS\n"
        "from impact_allocate import ALLOCATE_COMPONENTS\n"
        "assert 'Measure' in MEASURE_COMPONENTS.names()\n"
        "assert 'MinimaxRegretAllocate' in ALLOCATE_COMPONENTS.names()"
    )
    assert imported_after(code, ("statsmodels", "pulp")) == ["statsmodels", "pulp"]

"""The workspace packages import only downwards and never in a cycle (``lint-imports``
with the contracts in the root ``pyproject.toml``; the layering is decisions 0089, 0092)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``config``, in a fresh interpreter (it imports nothing itself)."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))"
    )
    command = [sys.executable, "-c", code]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_packages_keep_their_layers() -> None:
    done = lint_imports(ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """With the CLI put below the dashboard, the CLI's import of the dashboard breaks the
    contract: the graph holds the packages' real imports, lazy ones included."""
    config = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text()
    config.write_text(
        text.replace(
            '    "impact_cli",\n    "impact_dashboard",\n',
            '    "impact_dashboard",\n    "impact_cli",\n',
            1,
        )
    )
    done = lint_imports(config)
    assert done.returncode == 1
    assert "impact_dashboard is not allowed to import impact_cli" not in done.stdout
    assert "impact_cli is not allowed to import impact_dashboard" in done.stdout

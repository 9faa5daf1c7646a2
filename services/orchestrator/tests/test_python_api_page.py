"""docs/python-api.md runs as a notebook: every ``python`` block, in order, one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "python-api.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_python_api_page_runs_as_a_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "storage"))
    namespace: dict[str, object] = {"tmp_dir": tmp_path}
    assert len(blocks()) == 4
    for number, code in enumerate(blocks(), start=1):
        exec(compile(code, f"{PAGE.name} block {number}", "exec"), namespace)
    assert (tmp_path / "portfolio.yaml").is_file()
    assert len(list((tmp_path / "data-root" / "impact-staging").glob("df-*.parquet"))) == 4

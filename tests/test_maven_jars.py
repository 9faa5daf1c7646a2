"""The Maven jar fetch shared by the local broker and S3Proxy (``scripts/maven_jars.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import local_datastores, maven_jars


def test_jars_already_there_are_not_fetched_again(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    for index in range(3):
        (libs / f"a{index}.jar").write_bytes(b"")
    lines: list[str] = []
    fetched = maven_jars.fetch_jars(
        tmp_path / "pom.xml", libs, min_jars=3, what="the test jars", log=lines.append
    )
    assert fetched == 0
    assert lines == [f"jars already in {libs} (3 jars)"]
    assert (tmp_path / "fetch.lock").exists()


def test_too_few_jars_need_maven_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "only.jar").write_bytes(b"")
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn on it
    with pytest.raises(maven_jars.MavenError) as raised:
        maven_jars.fetch_jars(tmp_path / "pom.xml", libs, min_jars=2, what="the test jars")
    assert str(raised.value) == "mvn not found: install Maven (3.8+) to fetch the test jars"
    assert [path.name for path in libs.iterdir()] == ["only.jar"]  # nothing half-replaced


def test_s3proxy_fetch_errors_stay_runtime_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_datastores, "S3PROXY_LIBS", tmp_path / "libs")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="to fetch S3Proxy's jars"):
        local_datastores.fetch_s3proxy()

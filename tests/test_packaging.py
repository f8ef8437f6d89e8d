"""``python -m build`` makes an sdist and a wheel that ``twine check`` accepts, and the
wheel holds everything the app needs at run time."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.wheel import ROOT, build, fresh_copy

pytestmark = [pytest.mark.packaging, pytest.mark.config_independent]
pytest.importorskip("build", reason="pip install build (in the test extra) to build the wheel")
pytest.importorskip("twine", reason="pip install twine (in the test extra) to check it")
if int(version("setuptools").split(".")[0]) < 77:
    pytest.skip("setuptools>=77 (in the test extra) builds offline", allow_module_level=True)

PACKAGE = ROOT / "django_inngest_realtime"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = build(fresh_copy(tmp_path_factory.mktemp("source")), out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_twine_check_accepts_both(dist: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_holds_what_the_app_needs(dist: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    needed = [
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static", "migrations")
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert len(needed) >= 10
    needed += [
        "django_inngest_realtime/py.typed",
        "django_inngest_realtime/management/commands/inngest_dev.py",
        "django_inngest_realtime/testing/inngest_server/devserver.py",
    ]
    assert sorted(set(needed) - names) == []
    assert not [n for n in names if n.startswith(("tests/", "demo_project/", "benchmarks/"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_metadata(dist: dict[str, Path]) -> None:
    wheel = zipfile.ZipFile(dist["wheel"])
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "License-Expression: MIT" in text
    for classifier in (
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Typing :: Typed",
    ):
        assert f"Classifier: {classifier}\n" in text
    assert "Description-Content-Type: text/markdown" in text


def test_the_sdist_has_the_changelog_and_license(dist: dict[str, Path]) -> None:
    members = tarfile.open(dist["sdist"]).getnames()
    names = {name.split("/", 1)[1] for name in members if "/" in name}
    assert {"CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml"} <= names

"""``manage.py check`` on a newcomer's project missing each thing it needs: the output
names the check and says what to do, and never is a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = """
SECRET_KEY = "check-test"
DEBUG = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "channels",
    "django_inngest_realtime",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "proj.urls"
ASGI_APPLICATION = "proj.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
INNGEST_REALTIME = {"INNGEST_CLIENT": "proj.realtime.inngest_client"}
USE_TZ = True
"""
REALTIME = """
import inngest

inngest_client = inngest.Inngest(app_id="proj")

@inngest_client.create_function(fn_id="hello", trigger=inngest.TriggerEvent(event="proj/hello"))
async def hello(ctx: inngest.Context) -> str:
    return "hello"

functions = [hello]
"""
URLS = """
from django.urls import include, path
from django_inngest_realtime.serve import serve_inngest
from proj.realtime import functions, inngest_client

urlpatterns = [
    path("{prefix}", include("django_inngest_realtime.urls")),
    serve_inngest(inngest_client, functions),
]
"""


def manage(
    tmp_path: Path, *command: str, settings: str = "", prefix: str = "", dev: bool = True
) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "__init__.py").write_text("")
    (project / "settings.py").write_text(SETTINGS + settings)
    (project / "realtime.py").write_text(REALTIME)
    urls = URLS.replace("{prefix}", prefix)
    if prefix == "none":
        urls = urls.replace('    path("none", include("django_inngest_realtime.urls")),\n', "")
    (project / "urls.py").write_text(urls)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="proj.settings", PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    if dev:
        env["INNGEST_DEV"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "django", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_complete_project_passes(tmp_path: Path) -> None:
    done = manage(tmp_path, "check")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.parametrize(
    ("settings", "prefix", "dev", "check_id", "hint"),
    [
        ("del ASGI_APPLICATION\n", "", True, "E002", "Set ASGI_APPLICATION"),
        ("del CHANNEL_LAYERS\n", "", True, "E001", "Add CHANNEL_LAYERS"),
        ("", "", False, "E005", "Set INNGEST_SIGNING_KEY"),
        ("", "realtime/", True, "E010", "Include it at the root"),
        (
            'INNGEST_REALTIME = {"INNGEST_CLIENT": "proj.nowhere.client"}\n',
            "",
            True,
            "E006",
            "See docs/settings.md",
        ),
    ],
    ids=["no-asgi-application", "no-channel-layers", "no-signing-key", "mounted", "bad-client"],
)
def test_a_missing_setting_prints_its_check_and_hint(
    tmp_path: Path, settings: str, prefix: str, dev: bool, check_id: str, hint: str
) -> None:
    done = manage(tmp_path, "check", settings=settings, prefix=prefix, dev=dev)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"(django_inngest_realtime.{check_id})" in output
    assert f"HINT: {hint}" in output
    assert "Traceback" not in output


def test_urls_not_included_is_a_warning(tmp_path: Path) -> None:
    done = manage(tmp_path, "check", prefix="none")
    assert done.returncode == 0, done.stderr
    assert "(django_inngest_realtime.W005)" in done.stderr + done.stdout


def test_migrate_without_a_signing_key_reports_e005_not_a_traceback(tmp_path: Path) -> None:
    done = manage(tmp_path, "migrate", dev=False)
    output = done.stdout + done.stderr
    assert "(django_inngest_realtime.E005)" in output
    assert "Traceback" not in output and "SigningKeyMissingError" not in output

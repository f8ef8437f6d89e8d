"""What importing the package costs, and what it never imports."""

from __future__ import annotations

import os
import subprocess
import sys

CHEAP_IMPORT = """
import sys
import django
before = set(sys.modules)
import django_inngest_realtime
added = sorted(set(sys.modules) - before)
heavy = ("inngest", "pydantic", "channels", "twisted", "redis", "httpx")
heavy = [m for m in heavy if m in sys.modules]
print(len(added))
print(heavy)
"""

WITHOUT_DAPHNE = """
import asyncio, json, sys
import django
django.setup()
import django_inngest_realtime.routing
from channels.testing import WebsocketCommunicator
from tests.asgi import application
from tests.channels import live
from django_inngest_realtime import get_subscription_token, publish

async def main():
    key = get_subscription_token(live("no-daphne"), topics=["logs"])["key"]
    comm = WebsocketCommunicator(application, f"/v1/realtime/connect?token={key}")
    assert (await comm.connect())[0]
    await publish(live("no-daphne").logs("hi"))
    frame = json.loads(await comm.receive_from(timeout=5))
    await comm.disconnect()
    return frame["data"]

print(asyncio.run(main()))
print(sorted(m for m in sys.modules if m.split(".")[0] == "twisted"))
print(sorted(m for m in sys.modules if m.startswith("django_inngest_realtime.testing")))
"""


def run(code: str, **env: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()


def test_importing_the_package_is_cheap() -> None:
    count, heavy = run(CHEAP_IMPORT)
    assert int(count) < 150  # beyond Django's
    assert heavy == "[]"


def test_without_daphne_nothing_imports_twisted_or_the_testing_tools() -> None:
    """As under uvicorn with "daphne" left out of INSTALLED_APPS: a WebSocket subscription
    and a publish never load Twisted (direct writes are Daphne-only), and nothing under
    ``testing/`` is loaded by the app itself. (Channels' test communicator used here
    imports ``daphne.testing``, which does not import Twisted.)"""
    data, twisted, testing = run(WITHOUT_DAPHNE, TEST_WITHOUT_DAPHNE="1")
    assert data == "hi"
    assert twisted == "[]"
    assert testing == "[]"


def test_no_module_shadows_a_public_name() -> None:
    """Importing a submodule binds it as an attribute of the package: a module named like a
    public name (``publish``) would then replace the lazily exported function."""
    import importlib
    import pkgutil
    import types

    import django_inngest_realtime

    for info in pkgutil.iter_modules(django_inngest_realtime.__path__):
        assert info.name not in django_inngest_realtime.__all__, info.name
        if not info.name.startswith("testing"):
            importlib.import_module(f"django_inngest_realtime.{info.name}")
    for name in django_inngest_realtime.__all__:
        assert not isinstance(getattr(django_inngest_realtime, name), types.ModuleType), name

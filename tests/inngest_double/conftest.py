"""Fixtures: the double (per test, on a port fixed per module) and the Django app under
Daphne (per module), whose Inngest client points at that port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_inngest_realtime.testing.daphne import DaphneServer, free_port
from django_inngest_realtime.testing.inngest_server import InngestServerDouble

# ``inngest_server`` comes from the package's opt-in pytest plugin (tests/conftest.py).

APP = "tests.inngest_double.asgi:application"
SETTINGS = "tests.inngest_double.settings"


def start_app(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> DaphneServer:
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    return DaphneServer(
        APP, env={"DJANGO_SETTINGS_MODULE": SETTINGS, **env}, log_path=str(log)
    ).start()


@pytest.fixture(scope="module")
def double_port() -> int:
    return free_port()


@pytest.fixture
def inngest_server_options(double_port: int) -> dict[str, Any]:
    """Overrides the plugin's: the double listens where the module's app expects it."""
    return {"port": double_port}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, double_port: int) -> Iterator[DaphneServer]:
    """The app in dev mode: ``INNGEST_DEV=<double url>`` (no request signing)."""
    env = InngestServerDouble(port=double_port).environ()
    server = start_app(tmp_path_factory, env)
    yield server
    server.stop()


@pytest.fixture
def synced(inngest_server: InngestServerDouble, app: DaphneServer) -> InngestServerDouble:
    """The double with the app synced to it."""
    inngest_server.register_url(f"{app.url}/api/inngest")
    inngest_server.sync()
    return inngest_server

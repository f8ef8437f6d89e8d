from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings

from django_inngest_realtime.brokers import get_broker, reset_broker
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.testing.daphne import DaphneServer
from tests import channels  # noqa: F401  (registers the channels every test uses)
from tests.helpers import realtime_settings

pytest_plugins = ["django_inngest_realtime.testing.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "config_independent: runs a project of its own (its own settings, database and layer), "
        "so it runs in the embedded configuration only",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if getattr(settings, "CONFIG", "embedded") == "embedded":
        return
    skip = pytest.mark.skip(
        reason="runs a project with settings of its own: the same in every configuration "
        "(run in the embedded one)"
    )
    for item in items:
        if item.get_closest_marker("config_independent"):
            item.add_marker(skip)


def pytest_report_header() -> str:
    from django_inngest_realtime.brokers import broker_name

    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    db = settings.DATABASES["default"]["ENGINE"]
    return (
        f"django-inngest-realtime config: {settings.CONFIG} ({db}, {layer}, {broker_name()} broker)"
    )


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Every test starts with fresh settings caches and a new broker (empty local history)."""
    get_config.cache_clear()
    reset_broker()
    yield
    get_config.cache_clear()
    reset_broker()
    # Each async test has its own event loop; a channel layer kept from another loop
    # (channels_redis's receive lock is bound to the loop that made it) must not be reused.
    channel_layers.backends.clear()


def child_env() -> dict[str, str]:
    """What a child process needs to share this test run's settings, broker and database."""
    from django.db import connection

    # A server's tokens name the URL each request came to (TEST_API_BASE_URL cleared).
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_API_BASE_URL": ""}
    if connection.vendor == "postgresql":  # the test database pytest-django made
        name = str(connection.settings_dict["NAME"])
        if not name.startswith("test_"):
            raise RuntimeError(
                "The test database is not set up: pytest-django creates it only when a "
                "selected test is marked django_db; mark the module of this live server."
            )
        env["TEST_PG_NAME"] = name
    broker = settings.INNGEST_REALTIME.get("BROKER")
    if broker:
        env["TEST_BROKER"] = broker
    return env


CONFIG = getattr(settings, "CONFIG", "embedded")
AVAILABLE = {
    "embedded": ["local"],
    "scaled": ["local", "redis", "channels"],
    "channels": ["local", "channels"],
}[CONFIG]
BROKERS = [
    pytest.param(name, marks=[] if name in AVAILABLE else [pytest.mark.skip(reason=why)])
    for name, why in [
        ("local", ""),
        ("redis", "needs Redis (INNGEST_REALTIME_TEST_CONFIG=scaled)"),
        ("channels", "needs a cross-process channel layer (scaled or channels configuration)"),
    ]
]


@pytest.fixture(params=BROKERS)
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    with realtime_settings(BROKER=request.param):
        assert type(get_broker()).__module__.endswith(request.param)
        yield request.param
        await get_broker().aclose()  # what this test's loop holds (its layer instance)
        # A consumer of the test's own (the demo's chat) took Channels' layer in this loop:
        # closed here, while the loop runs (channels_rabbitmq's connection task otherwise
        # dies with the loop, "Task was destroyed but it is pending").
        layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
        if hasattr(layer, "close"):
            await layer.close()


def start_server(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str] | None = None
) -> DaphneServer:
    """Daphne serving ``tests.asgi`` in a child process, its log kept in a temp folder.

    Its tokens name the URL each request came to (``TEST_API_BASE_URL`` cleared)."""
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    return DaphneServer(
        "tests.asgi:application",
        env={**child_env(), **(env or {})},
        log_path=str(log),
        # Daphne drops a handshake the app has not accepted within 5 s; a busy CI machine
        # taking 1,000 connections at once needs longer (the clients wait 60 s).
        args=["--websocket_connect_timeout", "60"],
    ).start()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> Iterator[DaphneServer]:
    srv = start_server(tmp_path_factory)
    yield srv
    srv.stop()


async def post_publish(
    server: DaphneServer, name: str, items: list[Any], topic: str = "logs"
) -> list[int]:
    """Publish ``items`` from inside the server process (the in-memory layer is per process)."""
    async with httpx.AsyncClient() as client:
        res = await client.post(f"{server.url}/test-publish/{name}/{topic}", json=items, timeout=30)
        res.raise_for_status()
        return list(res.json()["seqs"])


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (which never downloads a browser)."""
    if not shutil.which(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api", reason="needs playwright")
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()

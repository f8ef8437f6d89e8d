"""pytest fixtures for the Inngest server double.

Opt in from your top-level ``conftest.py`` with
``pytest_plugins = ["django_inngest_realtime.testing.pytest_plugin"]`` (or ``pytest -p
django_inngest_realtime.testing.pytest_plugin``); it is not loaded into every project
that installs the package. ``inngest_server`` starts
a fresh double for each test (on its own thread, so sync and async tests can use it) and
points the Inngest SDK at it through environment variables for the test's duration.
Override ``inngest_server_options`` to pass options (``port``, ``signing_key``,
``time_scale``...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_inngest_realtime.testing.inngest_server import InngestServerDouble

#: Variables the fixture removes first so nothing from the outer environment leaks in.
SDK_VARIABLES = (
    "INNGEST_BASE_URL",
    "INNGEST_API_BASE_URL",
    "INNGEST_EVENT_API_BASE_URL",
    "INNGEST_DEV",
    "INNGEST_EVENT_KEY",
    "INNGEST_SIGNING_KEY",
    "INNGEST_SIGNING_KEY_FALLBACK",
)


@pytest.fixture
def inngest_server_options() -> dict[str, Any]:
    """Keyword arguments for :class:`InngestServerDouble`; override it to change them."""
    return {}


@pytest.fixture
def inngest_server(
    monkeypatch: pytest.MonkeyPatch, inngest_server_options: dict[str, Any]
) -> Iterator[InngestServerDouble]:
    """A running :class:`InngestServerDouble`, with the SDK's variables pointing at it.

    Clients built during the test (and child processes started during it) read them;
    a client built at import time keeps the URLs it read then: give it the double's
    ``port`` (for example 8288, the Dev Server's) or its ``url`` explicitly.
    """
    with InngestServerDouble(**inngest_server_options) as server:
        for name in SDK_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in server.environ().items():
            monkeypatch.setenv(name, value)
        yield server

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings

from django_inngest_realtime import history
from django_inngest_realtime.conf import get_config


def pytest_report_header() -> str:
    scaled = os.environ.get("INNGEST_REALTIME_TEST_CONFIG", "embedded") == "scaled"
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    db = settings.DATABASES["default"]["ENGINE"]
    return f"django-inngest-realtime config: {'scaled' if scaled else 'embedded'} ({db}, {layer})"


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Every test starts with fresh settings caches and an empty in-memory history."""
    get_config.cache_clear()
    history.reset_store()
    yield
    get_config.cache_clear()
    history.reset_store()

"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings


def realtime_settings(**overrides: Any) -> override_settings:
    """``override_settings`` of ``INNGEST_REALTIME`` keys, merged over the active ones, so a
    test in the scaled run keeps the Redis broker (a whole new dict would drop it)."""
    return override_settings(
        INNGEST_REALTIME={**getattr(settings, "INNGEST_REALTIME", {}), **overrides}
    )

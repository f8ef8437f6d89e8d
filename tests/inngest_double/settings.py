"""Settings of the Django app the double's end-to-end tests run under Daphne."""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INNGEST_REALTIME as _BASE_REALTIME

ROOT_URLCONF = "tests.inngest_double.urls"
ASGI_APPLICATION = "tests.inngest_double.asgi.application"
INNGEST_REALTIME = {
    **_BASE_REALTIME,
    # Every publish is also sent to the double's POST /v1/realtime/publish.
    "FORWARD_TO_INNGEST": True,
    "INNGEST_CLIENT": "tests.inngest_double.app_functions.inngest_client",
    # This app has no migrated database (the double is what is tested here); run status,
    # which keeps a row per run, is tested in tests/test_run_status*.py.
    "RUN_STATUS": False,
}

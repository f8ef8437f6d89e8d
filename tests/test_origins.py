"""CORS on the SSE endpoint for origins in ALLOWED_ORIGINS (no credentials), same-origin
otherwise; the WebSocket side is in tests/test_consumers.py and, in a real browser,
tests/test_browser_origins.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from tests.helpers import realtime_settings

APP = "http://app.example:5173"


def sse(origin: str | None, method: str = "get", **headers: str) -> Any:
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    client = Client(HTTP_HOST="site.example")
    return getattr(client, method)("/v1/realtime/sse", {"token": "forged:abc:def"}, **extra)


@pytest.fixture(autouse=True)
def listed() -> Any:
    with (
        realtime_settings(ALLOWED_ORIGINS=[APP]),
        override_settings(ALLOWED_HOSTS=["site.example"]),
    ):
        yield


def test_listed_origin_gets_cors_without_credentials_even_on_errors() -> None:
    res = sse(APP)
    assert res.status_code == 401  # the forged token, answered readably
    assert res["Access-Control-Allow-Origin"] == APP
    assert "Origin" in res["Vary"]
    assert not res.has_header("Access-Control-Allow-Credentials")


def test_preflight_for_the_authorization_header() -> None:
    res = sse(
        APP,
        "options",
        **{
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert res.status_code == 204
    assert res["Access-Control-Allow-Origin"] == APP
    assert "Authorization" in res["Access-Control-Allow-Headers"]
    assert "GET" in res["Access-Control-Allow-Methods"]


def test_unlisted_origin_is_refused_before_anything() -> None:
    for method in ("get", "options"):
        res = sse("https://evil.example", method)
        assert res.status_code == 403
        assert "ALLOWED_ORIGINS" in res.json()["error"]
        assert not res.has_header("Access-Control-Allow-Origin")


def test_same_origin_and_no_origin_need_no_cors() -> None:
    for origin in ("http://site.example", None):
        res = sse(origin)
        assert res.status_code == 401
        assert not res.has_header("Access-Control-Allow-Origin")


def test_star_allows_any_origin_with_a_star() -> None:
    with realtime_settings(ALLOWED_ORIGINS=["*"]):
        res = sse("https://anyone.example")
    assert res["Access-Control-Allow-Origin"] == "*"


def test_the_refresh_view_stays_same_origin() -> None:
    client = Client(HTTP_HOST="site.example", HTTP_ORIGIN=APP)
    res = client.options("/v1/realtime/token/refresh")
    assert not res.has_header("Access-Control-Allow-Origin")

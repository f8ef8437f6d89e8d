"""Subscription keys never reach a log line; paths and statuses do."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
import websockets

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.transports.redaction import LOGGERS, redact

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db


def test_redact_keeps_the_path_and_drops_the_value() -> None:
    assert redact("GET /v1/realtime/sse?token=abc:def:ghi&since=4 HTTP/1.1") == (
        "GET /v1/realtime/sse?token=[redacted]&since=4 HTTP/1.1"
    )
    assert redact("/x?since=1&TOKEN=k") == "/x?since=1&TOKEN=[redacted]"
    assert redact("/x?notatoken=1") == "/x?notatoken=1"


@pytest.mark.parametrize("name", LOGGERS)
def test_server_loggers_are_filtered(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """As uvicorn's access logger formats its arguments, and as Daphne's runserver passes a
    mapping of details."""
    log = logging.getLogger(name)
    with caplog.at_level(logging.INFO, logger=name):
        log.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/v1/realtime/connect?token=SECRET",
            "1.1",
            401,
        )
        log.info("HTTP %(method)s %(path)s", {"method": "GET", "path": "/sse?token=SECRET"})
    text = caplog.text
    assert "SECRET" not in text
    assert "/v1/realtime/connect?token=[redacted]" in text and "401" in text
    assert "GET /sse?token=[redacted]" in text


async def test_daphne_access_log_has_no_keys(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> None:
    from tests.conftest import start_server

    server: DaphneServer = start_server(tmp_path_factory)
    try:
        key = str(get_subscription_token("live:logs", topics=["logs"])["key"])
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            async with client.stream("GET", "/v1/realtime/sse", params={"token": key}) as res:
                assert res.status_code == 200
            refused = await client.get("/v1/realtime/sse", params={"token": "forged:key:x"})
            assert refused.status_code >= 400
        async with websockets.connect(f"{server.ws_url}/v1/realtime/connect?token={key}"):
            pass
        assert server.log_path is not None
        log = Path(server.log_path)
        for _ in range(100):  # the disconnect is logged after the close
            text = await asyncio.to_thread(log.read_text)
            if "WSDISCONNECT" in text:
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert "/v1/realtime/sse?token=[redacted]" in text
    assert "WSCONNECT /v1/realtime/connect" in text  # Daphne logs WebSocket paths bare
    assert key not in text and "forged:key:x" not in text

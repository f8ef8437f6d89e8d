"""The widgets in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish, start_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


async def open_widgets(browser: Any, server: DaphneServer, name: str) -> Any:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{server.url}/widgets/{name}")
    await page.wait_for_selector("#feed [data-state='live']", timeout=15_000)
    return page


async def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def feed_texts(page: Any, section: str = "#feed") -> list[str]:
    return [t.strip() for t in await page.locator(f"{section} li").all_text_contents()]


async def test_messages_appear_without_reload(browser: Any, server: DaphneServer) -> None:
    await post_publish(server, "live:b1", ["rendered by the server"])
    page = await open_widgets(browser, server, "b1")
    assert await feed_texts(page) == ["rendered by the server"]
    await post_publish(server, "live:b1", ["live one", "live two"])
    await post_publish(server, "live:b1", [{"id": "p1", "likes": 5}], topic="votes")
    await page.wait_for_function(
        "document.querySelectorAll('#feed li').length === 3", timeout=10_000
    )
    assert await feed_texts(page) == ["rendered by the server", "live one", "live two"]
    await page.wait_for_selector("#votes li strong.vote", timeout=10_000)
    assert await feed_texts(page, "#votes") == ["p1 has 5 likes"]
    await page.wait_for_function(
        "document.querySelector('#likes .inngest-realtime-text').textContent === '5'",
        timeout=10_000,
    )
    assert await page.locator("#feed .inngest-realtime-status").text_content() == "live"
    await screenshot(page, "widgets")
    assert page.errors == []


async def test_markup_in_messages_is_text(browser: Any, server: DaphneServer) -> None:
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    await post_publish(server, "live:b2", [evil])
    page = await open_widgets(browser, server, "b2")
    await post_publish(server, "live:b2", [evil])
    await post_publish(server, "live:b2", [{"id": evil, "likes": 1}], topic="votes")
    await page.wait_for_function(
        "document.querySelectorAll('#feed li').length === 2", timeout=10_000
    )
    await page.wait_for_selector("#votes li strong.vote", timeout=10_000)
    await page.wait_for_timeout(300)
    assert await feed_texts(page) == [evil, evil]
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("#votes strong.vote").text_content() == evil


async def test_server_restart_under_the_page_loses_nothing(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(tmp_path_factory)
    try:
        page = await open_widgets(browser, server, "b3")
        await post_publish(server, "live:b3", ["before"])
        await page.wait_for_function("document.querySelectorAll('#feed li').length === 1")
        server.restart()
        await post_publish(server, "live:b3", ["during 1", "during 2"])
        await page.wait_for_function(
            "document.querySelectorAll('#feed li:not(.inngest-realtime-gap)').length === 3",
            timeout=30_000,
        )
        await post_publish(server, "live:b3", ["after"])
        await page.wait_for_function(
            "document.querySelectorAll('#feed li:not(.inngest-realtime-gap)').length === 4",
            timeout=15_000,
        )
        texts = await page.locator("#feed li:not(.inngest-realtime-gap)").all_text_contents()
        assert texts == ["before", "during 1", "during 2", "after"]
        if os.environ.get("INNGEST_REALTIME_TEST_CONFIG") == "scaled":
            # Redis history survives the restart: positions hold, so no gap notice.
            assert await page.locator("#feed li.inngest-realtime-gap").count() == 0
        await screenshot(page, "after-restart")
    finally:
        server.stop()


async def test_sse_fallback_when_websockets_are_unavailable(
    browser: Any, server: DaphneServer
) -> None:
    page = await browser.new_page()
    await page.add_init_script("delete window.WebSocket;")
    await page.goto(f"{server.url}/widgets/b5")
    await page.wait_for_selector("#feed [data-state='live']", timeout=15_000)
    await post_publish(server, "live:b5", ["over SSE"])
    await page.wait_for_function(
        "document.querySelectorAll('#feed li').length === 1", timeout=10_000
    )
    assert await feed_texts(page) == ["over SSE"]


async def test_expired_token_is_refreshed_on_reconnect(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(tmp_path_factory, {"TEST_TOKEN_TTL": "1"})
    try:
        page = await open_widgets(browser, server, "b6")
        refreshes: list[int] = []
        page.on(
            "response",
            lambda r: refreshes.append(r.status) if r.url.endswith("/v1/realtime/token") else None,
        )
        await page.wait_for_timeout(1500)  # the page's tokens are now expired
        await page.evaluate("DjangoInngestRealtime._dropConnections()")
        await post_publish(server, "live:b6", ["after the refresh"])
        await page.wait_for_function(
            "document.querySelectorAll('#feed li').length === 1", timeout=20_000
        )
        assert 200 in refreshes
        assert await feed_texts(page) == ["after the refresh"]
    finally:
        server.stop()

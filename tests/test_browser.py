"""The widgets in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish, start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db

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
    await page.wait_for_selector("#votes li", timeout=10_000)
    assert await feed_texts(page, "#votes") == ['{"id":"p1","likes":5}']
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
    await page.wait_for_selector("#votes li", timeout=10_000)
    # A last, harmless message: once it shows, everything before it was handled.
    await post_publish(server, "live:b2", ["sentinel"])
    await page.wait_for_function(
        "document.querySelectorAll('#feed li').length === 3", timeout=10_000
    )
    assert await feed_texts(page) == [evil, evil, "sentinel"]
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__xss") is None
    vote = json.dumps({"id": evil, "likes": 1}, separators=(",", ":"), ensure_ascii=False)
    assert await feed_texts(page, "#votes") == [vote]


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
        page = await browser.new_page()
        keys: dict[str, str] = {}  # the key each subscription sent last (a refresh replaces it)

        def on_socket(ws: Any) -> None:
            def sent(payload: Any) -> None:
                frame = json.loads(payload) if isinstance(payload, str) else {}
                if frame.get("kind") == "sub":
                    keys[frame["id"]] = frame["data"]

            ws.on("framesent", sent)

        page.on("websocket", on_socket)
        await page.goto(f"{server.url}/widgets/b6")
        await page.wait_for_selector("#feed [data-state='live']", timeout=15_000)
        # Wait until the server refuses every key the page holds as expired (TTL 1 s); the
        # presence endpoint answers at once (404 while a key is good: no presence here).
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for _ in range(400):
                answers = [
                    (await client.get("/v1/realtime/presence", params={"token": k})).status_code
                    for k in list(keys.values())
                ]
                if answers and set(answers) == {410}:
                    break
                await asyncio.sleep(0.05)
        assert answers and set(answers) == {410}
        async with page.expect_response(
            lambda r: r.url.endswith("/v1/realtime/token/refresh"), timeout=20_000
        ) as refresh:
            await page.evaluate("DjangoInngestRealtime._dropConnections()")
        assert (await refresh.value).status == 200
        await post_publish(server, "live:b6", ["after the refresh"])
        await page.wait_for_function(
            "document.querySelectorAll('#feed li').length === 1", timeout=20_000
        )
        assert await feed_texts(page) == ["after the refresh"]
    finally:
        server.stop()


@pytest.fixture
def db_server(tmp_path: Path, django_db_setup: None) -> Any:
    """A live server with a database of its own that has the tables (a migrated SQLite
    file in the embedded configuration; the test database otherwise)."""
    import subprocess
    import sys

    from tests.conftest import child_env

    env = child_env()
    if "TEST_PG_NAME" not in env:
        env["TEST_SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"],
            env={**os.environ, **env},
            check=True,
            timeout=120,
        )
    server = DaphneServer("tests.asgi:application", env=env, log_path=str(tmp_path / "log"))
    yield server.start()
    server.stop()


async def test_confirmation_messages_cannot_name_where_decisions_go(
    browser: Any, db_server: DaphneServer
) -> None:
    """A message on the confirmations topic names its own decision URL: the widget ignores
    it, and posts only to this site's page built from the confirmation's id."""
    import uuid

    server = db_server
    page = await browser.new_page()
    await page.goto(f"{server.url}/confirmations-widget/b-forged")
    await page.wait_for_selector("#approvals [data-state='live']", timeout=15_000)
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    token = str(uuid.uuid4())
    forged = {"type": "confirmation", "status": "pending", "title": "Pay", "message": "ok?"}
    await post_publish(
        server,
        "approvals:b-forged",
        [
            {**forged, "token": "../../admin/", "url": "/admin/"},
            {**forged, "token": token, "url": "https://evil.example/steal"},
        ],
        topic="messages",
    )
    await page.wait_for_selector(f"#approvals li[data-token='{token}'] form", timeout=10_000)
    action = await page.locator(f"#approvals li[data-token='{token}'] form").get_attribute("action")
    assert action == f"/confirmations/{token}/"
    assert await page.locator("#approvals li").count() == 1  # the bad id was dropped
    assert any("ignored the decision URL" in w for w in warnings)
    assert any("without a valid id" in w for w in warnings)

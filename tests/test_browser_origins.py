"""A separate frontend: a page on another origin (a second local port) subscribing in
Chromium, allowed when listed in ALLOWED_ORIGINS and refused when not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from django_inngest_realtime.testing.daphne import DaphneServer, free_port
from tests.conftest import post_publish, start_server
from tests.keys import token_for, unique


class Frontend:
    """A static page on ``http://127.0.0.1:<port>/`` loading realtime.js from ``django``."""

    def __init__(self, port: int, django: str) -> None:
        page = (
            f'<!doctype html><meta charset="utf-8"><title>frontend</title>'
            f'<script src="{django}/static/django_inngest_realtime/realtime.js"></script>'
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.url = f"http://127.0.0.1:{port}/"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """The listed and the unlisted frontend's ports."""
    return free_port(), free_port()


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, ports: tuple[int, int], django_db_setup: None
) -> Iterator[DaphneServer]:
    """The Django server, with only the first frontend's origin listed."""
    srv = start_server(tmp_path_factory, {"TEST_ALLOWED_ORIGINS": f"http://127.0.0.1:{ports[0]}"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def frontends(api: DaphneServer, ports: tuple[int, int]) -> Iterator[tuple[Frontend, Frontend]]:
    listed, unlisted = Frontend(ports[0], api.url), Frontend(ports[1], api.url)
    yield listed, unlisted
    listed.stop()
    unlisted.stop()


PROBE = """async ({ws, sse, key}) => {
  const socket = await new Promise((resolve) => {
    const s = new WebSocket(ws + "?token=" + encodeURIComponent(key));
    s.onopen = () => { s.close(); resolve("open"); };
    s.onclose = () => resolve("closed before open");
  });
  const events = await new Promise((resolve) => {
    const source = new EventSource(sse + "?since=0&token=" + encodeURIComponent(key));
    source.onmessage = (e) => { source.close(); resolve(JSON.parse(e.data).data); };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) resolve("refused");
    };
  });
  let fetched;
  try {
    const controller = new AbortController();
    const res = await fetch(sse + "?since=0", {
      headers: {Authorization: "Bearer " + key}, signal: controller.signal,
    });
    const reader = res.body.getReader();
    let text = "";
    while (!text.includes("\\n\\ndata:") && !text.includes("\\ndata:")) {
      const {value} = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    fetched = res.status + " " + text.split("data: ")[1].split("\\n")[0];
  } catch (err) {
    fetched = "failed: " + err.name;
  }
  return {socket, events, fetched};
}"""


async def probe(browser: Any, api: DaphneServer, frontend: Frontend, published: str) -> Any:
    """Publish ``published`` on a new channel, open ``frontend``'s page and try the three
    ways in from there with a token for that channel; return the page, results and token."""
    token = token_for(api, unique("cors"), topics=["logs"])
    await post_publish(api, token["channel"], [published])
    page = await browser.new_page()
    await page.goto(frontend.url)
    endpoints = {"ws": f"{api.ws_url}/v1/realtime/connect", "sse": f"{api.url}/v1/realtime/sse"}
    return page, await page.evaluate(PROBE, {**endpoints, "key": token["key"]}), token


async def test_listed_origin_subscribes_over_websocket_sse_and_fetch(
    browser: Any, api: DaphneServer, frontends: tuple[Frontend, Frontend]
) -> None:
    page, seen, token = await probe(browser, api, frontends[0], "from history")
    assert seen["socket"] == "open"
    assert seen["events"] == "from history"
    assert seen["fetched"].startswith("200 ") and '"data":"from history"' in seen["fetched"]

    # realtime.js on that page, as a frontend would use it with a token from its server.
    await page.evaluate(
        """(token) => {
          window.__got = []; window.__states = [];
          DjangoInngestRealtime.subscribe(token, (m) => window.__got.push(m.data),
                                          {onStatus: (s) => window.__states.push(s)});
        }""",
        token,
    )
    await page.wait_for_function("window.__states.includes('live')", timeout=15_000)
    await post_publish(api, token["channel"], ["live across origins"])
    await page.wait_for_function("window.__got.includes('live across origins')", timeout=15_000)


async def test_unlisted_origin_is_refused(
    browser: Any, api: DaphneServer, frontends: tuple[Frontend, Frontend]
) -> None:
    _, seen, _ = await probe(browser, api, frontends[1], "not for you")
    assert seen == {
        "socket": "closed before open",
        "events": "refused",
        "fetched": "failed: TypeError",
    }

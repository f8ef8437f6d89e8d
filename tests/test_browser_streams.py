"""realtime.js assembles streams (Inngest's own clients fail on them, an upstream bug: see
tests/test_inngest_clients.py): the data around a stream, and the stream's text."""

from __future__ import annotations

from typing import Any

import httpx

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.keys import token_for, unique

SUBSCRIBE = """(token) => {
  window.__seen = []; window.__texts = []; window.__states = [];
  DjangoInngestRealtime.subscribe(token, async (message) => {
    window.__seen.push([message.kind, message.kind === "data" ? message.data : null,
                        Boolean(message.stream)]);
    if (message.kind === "datastream-start") {
      let text = "";
      for await (const part of message.stream) text += part;
      window.__texts.push(text);
    }
  }, {onStatus: (s) => window.__states.push(s)});
}"""


async def test_realtime_js_assembles_a_stream_between_data(
    browser: Any, server: DaphneServer
) -> None:
    name = unique("js-stream")
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/widgets/unused")  # a page that loads realtime.js
    await page.evaluate(SUBSCRIBE, token_for(server, name, topics=["logs"]))
    await page.wait_for_function("window.__states.includes('live')", timeout=15_000)
    async with httpx.AsyncClient(timeout=30) as http:
        body = {"before": "before", "chunks": ["Once ", "upon ", "a time"], "after": "after"}
        res = await http.post(f"{server.url}/test-stream/{name}/logs", json=body)
        res.raise_for_status()
    await page.wait_for_function("window.__texts.length === 1", timeout=15_000)
    await page.wait_for_function("window.__seen.length === 7", timeout=15_000)
    assert await page.evaluate("window.__texts") == ["Once upon a time"]
    assert await page.evaluate("window.__seen") == [
        ["data", "before", False],
        ["datastream-start", None, True],
        ["chunk", None, True],
        ["chunk", None, True],
        ["chunk", None, True],
        ["datastream-end", None, True],
        ["data", "after", False],
    ]
    assert errors == []

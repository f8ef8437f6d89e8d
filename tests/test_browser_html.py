"""Live HTML in a real browser (Debian's Chromium, Playwright): the widgets and htmx's SSE
extension apply what ``publish_html()`` rendered once, under a strict CSP."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.node_runner import NODE_DIR

# Collects CSP violations and errors before the page's own scripts run.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# Live-server modules ask for the test database (the server shares it).
pytestmark = pytest.mark.django_db


async def publish_html(server: DaphneServer, name: str, items: list[dict[str, Any]]) -> list[int]:
    async with httpx.AsyncClient() as client:
        res = await client.post(f"{server.url}/test-publish-html/{name}", json=items, timeout=30)
        res.raise_for_status()
        return list(res.json()["seqs"])


def item(n: int, text: str, action: str = "append", target: str = "items") -> dict[str, Any]:
    return {
        "action": action,
        "target": target,
        "template": "html_item.html",
        "context": {"n": n, "text": text},
    }


async def open_page(browser: Any, url: str, ready: str) -> Any:
    page = await browser.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.add_init_script(WATCH)
    await page.goto(url)
    await page.wait_for_selector(ready, timeout=15_000, state="attached")
    return page


async def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_text_contents()]


async def until_text(page: Any, selector: str, text: str) -> None:
    """Wait for ``selector`` to hold exactly ``text`` (locators, not wait_for_function: the
    page's CSP forbids the eval that a string predicate needs)."""
    exact = re.compile(rf"^\s*{re.escape(text)}\s*$")
    await page.locator(selector).filter(has_text=exact).wait_for(timeout=10_000)


async def subscribers(server: DaphneServer) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{server.url}/test-hub", timeout=10)).json()["subscribers"])


async def until_subscribed(server: DaphneServer, count: int) -> None:
    """Poll the server's hub until it holds ``count`` subscribers (15 s at most)."""
    for _ in range(300):
        if await subscribers(server) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never had {count} subscribers")


async def test_every_action_applies_under_a_strict_csp(browser: Any, server: DaphneServer) -> None:
    await publish_html(server, "p1", [item(1, "from history")])
    page = await open_page(
        browser,
        f"{server.url}/html-page/p1",
        "#feed [data-state='live'], .inngest-realtime-html[data-state='live']",
    )
    await page.wait_for_selector(".inngest-realtime-html[data-state='live']", state="attached")
    assert await texts(page, "#items li") == ["from history"]
    evil = '<img src=x onerror="window.__xss=1">'
    await publish_html(
        server,
        "p1",
        [
            item(2, evil),
            item(0, "prepended", "prepend"),
            item(3, "replaced card", "replace", "card-1"),
            item(4, "before card 2", "before", "card-2"),
            item(5, "after card 2", "after", "card-2"),
            {
                "action": "update",
                "target": "banner",
                "template": "banner.html",
                "context": {"text": "new banner"},
            },
            {"action": "remove", "target": "item-1"},
            item(2, "item 2 again"),  # same id: replaces the old one, as Turbo does
        ],
    )
    await until_text(page, "#items li:last-child", "item 2 again")
    assert await texts(page, "#items li") == ["prepended", "item 2 again"]
    assert await texts(page, "#cards li") == [
        "replaced card",
        "before card 2",
        "card 2",
        "after card 2",
    ]
    assert await page.locator("#banner strong.banner-text").text_content() == "new banner"
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__xss") is None
    assert await page.evaluate("window.__violations") == []
    assert page.errors == []


async def test_the_feed_keeps_its_limit(browser: Any, server: DaphneServer) -> None:
    page = await open_page(
        browser, f"{server.url}/html-page/p2?limit=2", "#feed [data-state='live']"
    )
    await publish_html(server, "p2", [item(n, f"n{n}") for n in range(4)])
    await until_text(page, "#items li:last-child", "n3")
    assert await texts(page, "#items li") == ["n2", "n3"]


async def test_the_browser_refuses_an_unsafe_fragment_that_got_past_the_server(
    browser: Any, server: DaphneServer
) -> None:
    """A fragment published around ``publish_html()`` (straight to the broker, as a foreign
    process could) is refused by ``widgets.js`` too, and the page goes on."""
    page = await open_page(browser, f"{server.url}/html-page/p3", "#feed [data-state='live']")
    bad = '<li id="item-9" onmouseover="window.__xss=1" style="color:red">bad</li>'
    async with httpx.AsyncClient() as client:
        res = await client.post(
            f"{server.url}/test-publish-raw/page:p3/html",
            json=[{"action": "append", "target": "items", "html": bad}],
        )
        res.raise_for_status()
    await publish_html(server, "p3", [item(10, "good")])
    await page.wait_for_selector("#item-10", timeout=10_000)
    assert await page.locator("#item-9").count() == 0
    assert await texts(page, "#items li") == ["good"]


TRICKY = [
    "<li>plain</li>",
    "<tr><td>cell</td></tr>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<noscript><img src=x onerror=alert(1)></noscript>",
    "<title><img src=x onerror=alert(1)></title>",
    "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<a href='&#x6A;avascript:alert(1)'>x</a>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    "<img src=x onerror\x0c=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<div id=a\x00b onclick=alert(1)>x</div>",
    "</p><img src=x onerror=alert(1)>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<select><template><style></style></template></select>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "<img src=x o\u006eerror=alert(1)>",
]


async def test_what_the_server_accepts_the_browser_parses_without_script_or_style(
    browser: Any, server: DaphneServer
) -> None:
    """Python's parser (the server's check) and the browser's must not disagree in the
    browser's disfavour: every fragment the check accepts is clean once Chromium parses it."""
    from django_inngest_realtime.fragments import UnsafeFragment, check_fragment

    accepted = []
    for html in TRICKY:
        try:
            check_fragment(html, "test")
        except UnsafeFragment:
            continue
        accepted.append(html)
    assert "<li>plain</li>" in accepted and len(accepted) < len(TRICKY)
    page = await open_page(browser, f"{server.url}/html-page/p4", "#feed [data-state='live']")
    found = await page.evaluate(
        """(fragments) => fragments.map((html) => {
          const doc = document.implementation.createHTMLDocument("");
          const t = doc.createElement("template");
          t.innerHTML = html;
          const bad = [];
          const walk = (root) => root.querySelectorAll("*").forEach((el) => {
            const name = el.localName.toLowerCase();
            if (["script", "style", "base", "meta"].includes(name)) bad.push(name);
            for (const a of el.attributes) {
              const v = a.value.replace(/[\\x00-\\x20]+/g, "").toLowerCase();
              if (a.name.startsWith("on") || a.name === "style" || a.name === "srcdoc" ||
                  v.startsWith("javascript:")) bad.push(name + "@" + a.name);
            }
            if (el.content) walk(el.content);
          });
          walk(t.content);
          return [html, bad];
        })""",
        accepted,
    )
    assert [entry for entry in found if entry[1]] == []


htmx_installed = pytest.mark.skipif(
    not (NODE_DIR / "node_modules" / "htmx-ext-sse").is_dir(),
    reason="needs `npm install --prefix tests/node` (htmx.org@2 and htmx-ext-sse@2)",
)


@htmx_installed
async def test_htmx_sse_extension_swaps_the_fragments(browser: Any, server: DaphneServer) -> None:
    before = await subscribers(server)
    page = await open_page(browser, f"{server.url}/htmx-page/x1", "#items")
    # htmx opens the EventSource itself: wait until the server has its subscriber.
    await until_subscribed(server, before + 1)
    await publish_html(
        server,
        "x1",
        [
            item(1, "one"),
            item(2, "<b>two</b>"),
            {
                "action": "update",
                "target": "banner",
                "template": "banner.html",
                "context": {"text": "htmx banner"},
            },
        ],
    )
    await until_text(page, "#items li:nth-child(2)", "<b>two</b>")
    assert await texts(page, "#items li") == ["one", "<b>two</b>"]
    await until_text(page, "#banner strong.banner-text", "htmx banner")
    assert await texts(page, "#banner") == ["htmx banner"]
    assert await page.evaluate("window.__violations") == []
    assert page.errors == []

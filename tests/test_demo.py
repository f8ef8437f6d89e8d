"""The demo as the README starts it: ``./run demo`` runs ``python -m demo_project.launcher``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from django_inngest_realtime.testing.daphne import free_port

# A project of its own (its settings, database and layer): the same in every configuration.
pytestmark = pytest.mark.config_independent

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


class Demo:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.process, self.log = url, process, log


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    port, inngest_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INNGEST_", "DJANGO_SETTINGS", "REDIS_URL", "DATABASE_URL"))
    }
    env["DEMO_SQLITE_PATH"] = str(tmp / "demo.sqlite3")
    log = tmp / "demo.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo_project.launcher",
            "--port",
            str(port),
            "--inngest-port",
            str(inngest_port),
            "--no-dev-server",
            "--noreload",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(600):
            if "[demo] Ready:" in log.read_text():
                break
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        else:
            raise AssertionError(f"the demo did not start:\n{log.read_text()}")
        yield Demo(f"http://127.0.0.1:{port}", process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def test_banner_says_it_uses_the_local_stand_in(demo: Demo) -> None:
    text = demo.log.read_text()
    assert "local Inngest stand-in" in text and "npx inngest-cli@latest dev -u" in text
    assert "user 'admin', password 'admin'" in text


async def test_api_hello_streams_hello_world_and_answers_the_prompt(demo: Demo) -> None:
    messages = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream(
            "POST", f"{demo.url}/api/hello", content=json.dumps({"prompt": "hi"})
        ) as res:
            assert res.status_code == 200
            assert res.headers["content-type"].startswith("text/event-stream")
            # The response ends when the run ends (its last message: the run's status).
            async for line in res.aiter_lines():
                if line.startswith("data: "):
                    messages.append(json.loads(line[6:]))
    answer = "You said 'hi' (2 characters)."
    assert [m["data"] for m in messages] == [
        "Hello, world!",
        answer,
        {"status": "completed", "output": answer},
    ]
    assert [m["kind"] for m in messages] == ["data", "data", "run"]
    assert all(m["topic"] == "logs" and m["run_id"] for m in messages)
    assert messages[0]["channel"].startswith("hello-world.")
    async with httpx.AsyncClient(timeout=30) as client:
        bad = await client.post(f"{demo.url}/api/hello", content=b"{not json")
        not_text = await client.post(f"{demo.url}/api/hello", json={"prompt": ["hi"]})
    assert bad.status_code == 400
    assert not_text.status_code == 400 and "'prompt' must be a string" in not_text.text


async def test_the_intended_error_is_logged_as_a_handled_failure(demo: Demo) -> None:
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as client:
        await client.get("/posts/")
        res = await client.post(
            "/posts/0/like",
            headers={"X-CSRFToken": client.cookies["csrftoken"], "Accept": "application/json"},
        )
        assert res.json() == {"sent": True}
    failure = (
        "Inngest function django-inngest-realtime-demo-post-like failed: NonRetriableError: "
        "Missing postId (reported to Inngest; no retry)."
    )
    for _ in range(300):  # this run's failure (another test's run may have failed before)
        if failure in demo.log.read_text():
            break
        await asyncio.sleep(0.1)
    text = demo.log.read_text()
    assert failure in text, [line for line in text.splitlines() if "ailed" in line]
    assert "(the failed run above, reported to Inngest)" in text
    assert "Internal Server Error" not in text


async def test_like_counters_update_in_every_window(demo: Demo, browser: Any) -> None:
    first, second = await browser.new_page(), await browser.new_page()
    for page in (first, second):
        await page.goto(f"{demo.url}/posts/")
        await page.wait_for_selector("[data-post='1'] [data-state='live']", timeout=15_000)
    counter = "[data-post='1'] .inngest-realtime-text"
    before = int(await second.locator(counter).text_content() or "0")
    await first.locator("[data-post='1'] button").click()
    await second.wait_for_function(
        f"document.querySelector(\"{counter}\").textContent === '{before + 1}'", timeout=20_000
    )
    await second.wait_for_function(
        "[...document.querySelectorAll('.inngest-realtime-feed li')]"
        ".some((li) => li.textContent === 'Liking post 1')",
        timeout=20_000,
    )
    await first.get_by_text("Like without a postId").click()
    await second.wait_for_function(
        "[...document.querySelectorAll('.inngest-realtime-feed li')]"
        ".some((li) => li.textContent === 'Missing postId when trying to like post')",
        timeout=20_000,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await second.screenshot(path=str(ARTIFACTS / "demo-posts.png"), full_page=True)


async def test_story_streams_word_by_word(demo: Demo, browser: Any) -> None:
    page = await browser.new_page()
    await page.goto(f"{demo.url}/story/")
    await page.get_by_role("button", name="Write").click()
    await page.wait_for_function(
        "document.getElementById('state').textContent === 'done'", timeout=30_000
    )
    text = await page.locator("#story").text_content()
    assert text is not None and text.startswith("[a Django app] Once upon a time")
    assert text.endswith("as the model wrote.")
    await page.screenshot(path=str(ARTIFACTS / "demo-story.png"), full_page=True)


async def logged_in_page(browser: Any, demo: Demo) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{demo.url}/admin/login/?next=/approvals/")
    await page.fill("#id_username", "admin")
    await page.fill("#id_password", "admin")
    await page.click("input[type=submit]")
    await page.wait_for_url(f"{demo.url}/approvals/")
    await page.wait_for_selector(
        ".inngest-realtime-confirmations [data-state='live']", timeout=15_000
    )
    return page


async def test_approve_in_one_window_updates_the_other(demo: Demo, browser: Any) -> None:
    first, second = await logged_in_page(browser, demo), await logged_in_page(browser, demo)
    pending = ".inngest-realtime-confirmations li[data-status='pending']"
    before = await first.locator(pending).count()
    await first.get_by_role("button", name="Start the workflow").click()
    for page in (first, second):
        await page.wait_for_function(
            f'document.querySelectorAll("{pending}").length === {before + 1}', timeout=30_000
        )
    item = first.locator(pending).last
    token = await item.get_attribute("data-token")
    await item.get_by_role("button", name="Approve").click()
    decided = f".inngest-realtime-confirmations li[data-token='{token}']"
    await second.wait_for_function(
        f"document.querySelector(\"{decided}\").dataset.status === 'approved'", timeout=30_000
    )
    outcome = await second.locator(f"{decided} .inngest-realtime-outcome").text_content()
    assert outcome == "Approved by admin"
    assert await second.locator(f"{decided} button").count() == 0
    await second.wait_for_function(
        "[...document.querySelectorAll('.inngest-realtime-feed li')]"
        ".some((li) => li.textContent === 'Done: the weekly report was sent.')",
        timeout=30_000,
    )
    await second.screenshot(path=str(ARTIFACTS / "demo-approvals.png"), full_page=True)


async def start_and_wait_for_a_pending_confirmation(page: Any) -> str:
    """Start the agentic workflow; return the token of the confirmation it asks for."""
    pending = ".inngest-realtime-confirmations li[data-status='pending']"
    before = await page.locator(pending).count()
    await page.get_by_role("button", name="Start the workflow").click()
    await page.wait_for_function(
        f'document.querySelectorAll("{pending}").length === {before + 1}', timeout=30_000
    )
    return str(await page.locator(pending).last.get_attribute("data-token"))


async def test_admin_decision_buttons_are_above_the_fold(demo: Demo, browser: Any) -> None:
    page = await logged_in_page(browser, demo)
    await start_and_wait_for_a_pending_confirmation(page)
    pending = "/admin/django_inngest_realtime/confirmation/?status__exact=pending"
    await page.goto(f"{demo.url}{pending}")
    await page.locator("#result_list tbody a").first.click()
    approve = page.locator("input[name='_approve']")
    await approve.wait_for(timeout=15_000)
    box = await approve.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] + box["height"] <= viewport["height"], (box, viewport)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "demo-admin-decision.png"))
    await approve.click()
    await page.wait_for_selector("text=Confirmation approved.", timeout=15_000)


async def test_the_decide_page_is_styled_without_javascript(demo: Demo, browser: Any) -> None:
    page = await logged_in_page(browser, demo)
    token = await start_and_wait_for_a_pending_confirmation(page)
    context = await browser.new_context(java_script_enabled=False)
    await context.add_cookies(await page.context.cookies())
    static = await context.new_page()
    await static.goto(f"{demo.url}/confirmations/{token}/")
    approve = static.get_by_role("button", name="Approve")
    style = await approve.evaluate(
        "(b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
    )
    assert style == ["rgb(26, 127, 55)", "rgb(255, 255, 255)"]
    font = await static.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font
    await approve.click()
    await static.wait_for_selector("text=Confirmation approved.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await static.screenshot(path=str(ARTIFACTS / "demo-decide-page-no-js.png"), full_page=True)


async def test_choices_are_ticked_and_the_function_goes_on_with_them(
    demo: Demo, browser: Any
) -> None:
    page = await logged_in_page(browser, demo)
    pending = ".inngest-realtime-confirmations li[data-status='pending']"
    before = await page.locator(f"{pending}:has(input[type=checkbox])").count()
    await page.get_by_role("button", name="Start a workflow with choices").click()
    await page.wait_for_function(
        f'document.querySelectorAll("{pending}:has(input[type=checkbox])").length === {before + 1}',
        timeout=30_000,
    )
    item = page.locator(f"{pending}:has(input[type=checkbox])").last
    token = await item.get_attribute("data-token")
    await item.locator("label", has_text="Slack").click()
    await item.locator("label", has_text="Wiki").click()
    await item.get_by_role("button", name="Submit").click()
    decided = f".inngest-realtime-confirmations li[data-token='{token}']"
    await page.wait_for_function(
        f"document.querySelector(\"{decided}\").dataset.status === 'approved'", timeout=30_000
    )
    outcome = await page.locator(f"{decided} .inngest-realtime-outcome").text_content()
    assert outcome == "Approved by admin: Slack, Wiki"
    await page.wait_for_function(
        "[...document.querySelectorAll('.inngest-realtime-feed li')]"
        ".some((li) => li.textContent === 'Sending the weekly report to Slack, Wiki "
        "(chosen by admin).')",
        timeout=30_000,
    )
    await page.screenshot(path=str(ARTIFACTS / "demo-approvals-choices.png"), full_page=True)
    # admin, the assignee, was emailed a link to the confirmation page (the console backend).
    log = demo.log.read_text()
    assert "Subject: Where should the weekly report go? (your decision is needed)" in log
    assert f"{demo.url}/confirmations/{token}/" in log

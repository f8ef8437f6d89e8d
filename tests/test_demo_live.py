"""The demo's live-HTML pages in a real browser: the activity feed and the posts list kept
current by model broadcasts (``demo_project/demo/live.py``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.test_demo import ARTIFACTS, Demo, demo  # noqa: F401  (the module's demo fixture)

# A project of its own (its settings, database and layer): the same in every configuration.
pytestmark = pytest.mark.config_independent


async def two_pages(browser: Any, url: str, ready: str) -> list[Any]:
    pages = [await browser.new_page(), await browser.new_page()]
    for page in pages:
        await page.goto(url)
        await page.wait_for_selector(ready, timeout=15_000, state="attached")
    return pages


async def test_activity_notes_reach_every_window(demo: Demo, browser: Any) -> None:  # noqa: F811
    first, second = await two_pages(
        browser, f"{demo.url}/activity/", ".inngest-realtime-feed[data-state='live']"
    )
    await first.fill("#note input[name=text]", "<b>hello</b> from the first window")
    await first.click("#note button")
    note = second.locator("#activity li").filter(has_text="<b>hello</b> from the first window")
    await note.wait_for(timeout=20_000)
    assert await second.locator("#activity b").count() == 0  # escaped by Django
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await second.screenshot(path=str(ARTIFACTS / "demo-activity.png"), full_page=True)


async def test_the_posts_list_follows_saves_and_deletes(demo: Demo, browser: Any) -> None:  # noqa: F811
    first, second = await two_pages(
        browser, f"{demo.url}/live-posts/", ".inngest-realtime-html[data-state='live']"
    )
    await first.fill("#create input[name=title]", "Broadcast me")
    await first.click("#create button")
    added = second.locator("#post-list li").filter(has_text="Broadcast me")
    await added.wait_for(timeout=20_000)
    element = await added.get_attribute("id")
    assert element and re.fullmatch(r"post-\d+", element)
    created = second.locator(".inngest-realtime-feed li").filter(has_text='"event":"created"')
    await created.filter(has_text="Broadcast me").wait_for(timeout=20_000)
    await first.locator(f"#{element} button[data-delete]").click()
    await second.locator(f"#{element}").wait_for(state="detached", timeout=20_000)
    deleted = second.locator(".inngest-realtime-feed li").filter(has_text='"event":"deleted"')
    await deleted.filter(has_text="Broadcast me").wait_for(timeout=20_000)
    await second.screenshot(path=str(ARTIFACTS / "demo-live-posts.png"), full_page=True)
    assert "Could not broadcast" not in demo.log.read_text()


async def run_a_job(page: Any, button: str, status: str) -> str:
    """Start a job from the Run status page; wait until its widget shows ``status``."""
    before = page.url
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_url(lambda url: "/runs/?job=" in url and url != before)  # this job's
    await page.wait_for_selector("#job .inngest-realtime-run [data-state='live']", timeout=15_000)
    shown = page.locator("#job .inngest-realtime-run-status")
    await page.wait_for_function(
        "(s) => document.querySelector('#job .inngest-realtime-run-status').textContent === s",
        arg=status,
        timeout=30_000,
    )
    assert await shown.get_attribute("data-run-status") == status.lower()
    return str(await page.locator("#job .inngest-realtime-run-error").text_content())


async def test_the_run_status_page_shows_jobs_complete_and_fail(demo: Demo, browser: Any) -> None:  # noqa: F811
    page = await browser.new_page()
    await page.goto(f"{demo.url}/")
    await page.get_by_role("link", name="Run status").first.click()
    await page.wait_for_url(f"{demo.url}/runs/")
    assert await run_a_job(page, "Start a job", "Completed") == ""
    feed = page.locator("#job .inngest-realtime-feed li")
    assert await feed.all_text_contents() == ["Counting to three ...", "Counted to 3."]
    await page.screenshot(path=str(ARTIFACTS / "demo-runs.png"), full_page=True)
    assert await run_a_job(page, "Start a job that fails", "Failed") == (
        "The job was asked to fail."
    )

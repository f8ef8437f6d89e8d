"""The confirmations widget's choices in a real browser (Debian's Chromium, Playwright):
click an option, and the decision comes back live."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish
from tests.test_browser import db_server, screenshot

__all__ = ["db_server"]  # the fixture, used below
TARGETS = ["Staging", "Production", "Skip"]


def seed(server: DaphneServer, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Create the user and confirmations in the server's database (another process)."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.confirmations.seed", json.dumps(spec)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


async def logged_in(browser: Any, server: DaphneServer, username: str, next_url: str) -> Any:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{server.url}/admin/login/?next={next_url}")
    await page.fill("#id_username", username)
    await page.fill("#id_password", "pw")
    await page.click("input[type=submit]")
    await page.wait_for_url(f"{server.url}{next_url}")
    return page


async def test_clicking_an_option_decides_and_the_decision_arrives(
    browser: Any, db_server: DaphneServer
) -> None:
    server = db_server
    name = "b-choices"
    channel = f"approvals:{name}"
    [rendered] = seed(
        server,
        {"user": "chooser", "confirmations": [{"channel": channel, "options": TARGETS}]},
    )
    page = await logged_in(browser, server, "chooser", f"/confirmations-widget/{name}")
    await page.wait_for_selector("#approvals [data-state='live']", timeout=15_000)
    item = f"#approvals li[data-token='{rendered['token']}']"
    # Rendered by the server: a button per option, no approve / reject.
    buttons = await page.locator(f"{item} button").all_text_contents()
    assert buttons == TARGETS

    await page.locator(item).get_by_role("button", name="Production").click()

    await page.wait_for_function(
        f"document.querySelector(\"{item}\").dataset.status === 'approved'", timeout=15_000
    )
    outcome = await page.locator(f"{item} .inngest-realtime-outcome").text_content()
    assert outcome == "Approved by chooser: Production"
    assert await page.locator(f"{item} button").count() == 0

    # One announced live (built by widgets.js from the message): several options, checkboxes.
    [live] = seed(
        server,
        {
            "user": "chooser",
            "confirmations": [{"channel": channel, "options": TARGETS, "multiple": True}],
        },
    )
    await post_publish(server, channel, [live], topic="messages")
    other = f"#approvals li[data-token='{live['token']}']"
    await page.wait_for_selector(f"{other} input[type=checkbox]", timeout=15_000)
    assert await page.locator(f"{other} input[type=checkbox]").count() == 3
    await page.locator(f"{other} label", has_text="Skip").click()
    await page.locator(f"{other} label", has_text="Staging").click()
    await page.locator(other).get_by_role("button", name="Submit").click()
    await page.wait_for_function(
        f"document.querySelector(\"{other}\").dataset.status === 'approved'", timeout=15_000
    )
    outcome = await page.locator(f"{other} .inngest-realtime-outcome").text_content()
    assert outcome == "Approved by chooser: Staging, Skip"
    await screenshot(page, "confirmation-choices")
    assert page.errors == []


async def test_a_refused_choice_shows_why_and_keeps_the_buttons(
    browser: Any, db_server: DaphneServer
) -> None:
    server = db_server
    name = "b-choices-none"
    channel = f"approvals:{name}"
    [rendered] = seed(
        server,
        {
            "user": "picker",
            "confirmations": [{"channel": channel, "options": TARGETS, "multiple": True}],
        },
    )
    page = await logged_in(browser, server, "picker", f"/confirmations-widget/{name}")
    await page.wait_for_selector("#approvals [data-state='live']", timeout=15_000)
    item = f"#approvals li[data-token='{rendered['token']}']"
    await page.locator(item).get_by_role("button", name="Submit").click()  # nothing ticked
    await page.wait_for_function(
        f'document.querySelector("{item} .inngest-realtime-outcome")'
        ".textContent.startsWith('Choose one of')",
        timeout=15_000,
    )
    assert await page.locator(f"{item}").get_attribute("data-status") == "pending"
    assert await page.locator(f"{item} button").is_enabled()

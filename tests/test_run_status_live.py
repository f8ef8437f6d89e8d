"""Run status end to end: Django under Daphne serves Inngest functions, the Inngest server
double runs them, and Inngest's v4 React hook (``useRealtime`` from ``inngest/react``,
rendered in Node) reads the run's status from our server, on every broker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer, free_port
from django_inngest_realtime.testing.inngest_server import InngestServerDouble
from django_inngest_realtime.tokens import server_subscription_key
from tests.conftest import BROKERS, child_env
from tests.node_runner import GUARD, NODE_DIR, needs_node

# The servers write runs' status rows into the test database: flushed after each test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def double_port() -> int:
    return free_port()


@pytest.fixture(scope="module", params=BROKERS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    double_port: int,
    django_db_setup: None,
) -> Iterator[DaphneServer]:
    """Daphne serving ``tests.asgi`` (realtime and ``/api/inngest``) on one broker, its
    Inngest client pointed at the double's port."""
    env = {
        **child_env(),
        **InngestServerDouble(port=double_port).environ(),
        "TEST_BROKER": request.param,
    }
    if "TEST_PG_NAME" not in env:  # SQLite: a file of its own, migrated here
        env["TEST_SQLITE_PATH"] = str(tmp_path_factory.mktemp("runs") / "db.sqlite3")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"],
            env={**os.environ, **env},
            check=True,
            timeout=120,
        )
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    server = DaphneServer("tests.asgi:application", env=env, log_path=str(log)).start()
    yield server
    server.stop()


@pytest.fixture
async def double(double_port: int, app: DaphneServer) -> AsyncIterator[InngestServerDouble]:
    async with InngestServerDouble(port=double_port) as server:
        await server.sync_async(f"{app.url}/api/inngest")
        yield server


def token(app: DaphneServer, name: str, topics: list[str] | None = None) -> dict[str, Any]:
    return {**get_subscription_token(name, topics), "apiBaseUrl": f"{app.url}/"}


class Hook:
    """``tests/node/run_status.mjs``: what v4's ``useRealtime`` returns, line by line."""

    def __init__(self, token: dict[str, Any]) -> None:
        self.token = token
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Hook:
        self.process = await asyncio.create_subprocess_exec(
            *("node", "--experimental-websocket", "--no-warnings", "run_status.mjs"),
            cwd=NODE_DIR,
            env={**os.environ, "TOKEN": json.dumps(self.token)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def until(self, **wanted: Any) -> list[dict[str, Any]]:
        """The states it printed up to the first one with ``wanted``'s values."""
        assert self.process is not None and self.process.stdout is not None
        states: list[dict[str, Any]] = []
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), GUARD)
            if not raw:
                assert self.process.stderr is not None
                err = (await self.process.stderr.read()).decode()
                raise AssertionError(f"the hook exited after {states}; stderr: {err}")
            state = json.loads(raw)
            states.append(state)
            assert "uncaught" not in state, state
            if all(state.get(k) == v for k, v in wanted.items()):
                return states

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@needs_node
async def test_v4_use_realtime_run_status_reaches_completed(
    app: DaphneServer, double: InngestServerDouble
) -> None:
    name = f"live:{uuid.uuid4().hex}"
    async with Hook(token(app, name, ["logs"])) as hook:
        await hook.until(connectionStatus="open")
        double.send_event("tests/greet", {"id": name.split(":")[1], "name": "Ada"})
        states = await hook.until(runStatus="completed")
        await asyncio.wait_for(hook.process.wait(), GUARD)  # type: ignore[union-attr]
    assert states[-1]["result"] == {"greeted": "Ada"}
    assert [s["runStatus"] for s in states].count("completed") == 1
    assert "failed" not in [s["runStatus"] for s in states]
    run = await double.wait_for_run_async(lambda r: r.function_id == "tests-app-greet", GUARD)
    assert run.status == "Completed", run.error


@needs_node
async def test_v4_use_realtime_run_status_reaches_failed(
    app: DaphneServer, double: InngestServerDouble
) -> None:
    name = f"live:{uuid.uuid4().hex}"
    async with Hook(token(app, name, ["logs"])) as hook:
        await hook.until(connectionStatus="open")
        double.send_event("tests/greet", {"id": name.split(":")[1], "fail": True})
        states = await hook.until(runStatus="failed")
    assert states[-1]["result"] is None


async def sse_messages(app: DaphneServer, key: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` messages of the server's SSE endpoint, from the channel's start."""
    messages: list[dict[str, Any]] = []
    url = f"{app.url}/v1/realtime/sse"
    async with httpx.AsyncClient(timeout=GUARD) as client:
        async with client.stream("GET", url, params={"token": key, "since": "0"}) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    messages.append(json.loads(line[6:]))
                    if len(messages) == count:
                        return messages
    raise AssertionError(f"the stream ended after {messages}")


@needs_node
async def test_a_cancelled_run_tells_its_channels_and_own_channel(
    app: DaphneServer, double: InngestServerDouble
) -> None:
    """Inngest cancels the run (its ``finish`` timeout) and sends
    ``inngest/function.cancelled``; ``run_status_function`` publishes it, once."""
    run_uuid = uuid.uuid4().hex
    async with Hook(token(app, f"live:{run_uuid}", ["logs"])) as hook:
        await hook.until(connectionStatus="open")
        double.send_event("tests/sleepy", {"id": run_uuid})
        await hook.until(runStatus="cancelled")
    run = await double.wait_for_run_async(lambda r: r.function_id == "tests-app-sleepy", GUARD)
    assert run.status == "Cancelled", run.error
    logs = await sse_messages(app, server_subscription_key(f"live:{run_uuid}"), 2)
    assert [(m["kind"], m["data"]) for m in logs] == [
        ("data", "going to sleep"),
        ("run", {"status": "cancelled"}),
    ]
    own = await sse_messages(app, server_subscription_key(f"$run:{run.run_id}"), 2)
    assert [(m["kind"], m["topic"], m["data"]["status"]) for m in own] == [
        ("run", "run", "running"),
        ("run", "run", "cancelled"),
    ]
    assert {m["run_id"] for m in own} == {run.run_id}


async def widget_page(browser: Any, app: DaphneServer, run_uuid: str) -> Any:
    """The run-status widget of ``live:<run_uuid>`` in Chromium, live, noting every status
    its ``inngest-realtime:run`` events tell (the page's feed tells them too)."""
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.add_init_script(
        "window.__told = []; document.addEventListener('inngest-realtime:run', (e) => {"
        " if (e.target.closest('#run')) window.__told.push(e.detail.status); });"
    )
    await page.goto(f"{app.url}/run-status-page/{run_uuid}")
    await page.wait_for_selector("#run [data-state='live']", timeout=15_000)
    assert await page.locator("#run .inngest-realtime-run-status").text_content() == "No run yet"
    return page


async def widget_until(page: Any, text: str) -> dict[str, Any]:
    """Wait for the widget to show ``text``; what it and its realtime.js handle hold."""
    await page.wait_for_function(
        "(text) => document.querySelector('#run .inngest-realtime-run-status')"
        ".textContent === text",
        arg=text,
        timeout=GUARD * 1000,
    )
    return dict(
        await page.evaluate(
            """() => {
              const widget = document.querySelector('#run .inngest-realtime-run');
              const handle = widget.__inngestRealtime;
              return {
                runStatus: handle.runStatus, runOutput: handle.runOutput ?? null,
                runError: handle.runError, told: window.__told,
                attribute: widget.getAttribute('data-run-status'),
                error: widget.querySelector('.inngest-realtime-run-error').textContent,
              };
            }"""
        )
    )


async def widget_page_reloaded(page: Any) -> dict[str, Any]:
    await page.reload()
    await page.wait_for_selector("#run [data-state='live']", timeout=15_000)
    return await widget_until(page, "Completed")


async def test_the_run_status_widget_shows_a_run_reach_completed(
    app: DaphneServer, double: InngestServerDouble, browser: Any
) -> None:
    run_uuid = uuid.uuid4().hex
    page = await widget_page(browser, app, run_uuid)
    double.send_event("tests/greet", {"id": run_uuid, "name": "Ada"})
    state = await widget_until(page, "Completed")
    assert state["runStatus"] == state["attribute"] == "completed"
    assert state["runOutput"] == {"greeted": "Ada"}
    assert state["told"] == ["running", "completed"]
    assert state["error"] == ""
    # The page opened now renders it from history, its handle seeded with it.
    again = await widget_page_reloaded(page)
    assert again["runStatus"] == "completed" and again["told"] == []
    assert page.errors == []


async def test_the_run_status_widget_shows_a_failed_run_s_error_as_text(
    app: DaphneServer, double: InngestServerDouble, browser: Any
) -> None:
    run_uuid = uuid.uuid4().hex
    page = await widget_page(browser, app, run_uuid)
    double.send_event("tests/greet", {"id": run_uuid, "name": "<b>Ada</b>", "fail": True})
    state = await widget_until(page, "Failed")
    assert state["runStatus"] == state["attribute"] == "failed"
    assert state["error"] == "no greeting for <b>Ada</b>"
    assert state["runError"]["message"] == "no greeting for <b>Ada</b>"
    assert state["told"] == ["running", "failed"]
    assert await page.locator("#run b").count() == 0  # the message is text, not markup
    assert page.errors == []

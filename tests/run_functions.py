"""The Inngest functions of the live run-status tests (``tests/test_run_status_live.py``),
served by the test servers at ``/api/inngest``; the Inngest server double runs them.

The client reads the double's URL from the server's environment (``INNGEST_DEV=<double
url>``).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from django_inngest_realtime import publish, realtime_middleware
from django_inngest_realtime.middleware import run_status_function
from tests.channels import live

inngest_client = inngest.Inngest(
    app_id="tests-app", is_production=False, middleware=[realtime_middleware()]
)


@inngest_client.create_function(
    fn_id="greet", trigger=inngest.TriggerEvent(event="tests/greet"), retries=0
)
async def greet(ctx: inngest.Context) -> dict[str, Any]:
    """Publish on ``live:<id>``, run a step, publish again; fail when asked to."""
    logs = live(ctx.event.data["id"]).logs
    await publish(logs("hello"))
    name = await ctx.step.run("name", lambda: str(ctx.event.data.get("name", "world")))
    await publish(logs(f"hello, {name}"))
    if ctx.event.data.get("fail"):
        raise inngest.NonRetriableError(f"no greeting for {name}")
    return {"greeted": name}


@inngest_client.create_function(
    fn_id="sleepy",
    trigger=inngest.TriggerEvent(event="tests/sleepy"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=1)),
)
async def sleepy(ctx: inngest.Context) -> str:
    """Publish, then sleep past its ``finish`` timeout: Inngest cancels the run."""
    await publish(live(ctx.event.data["id"]).logs("going to sleep"))
    await ctx.step.sleep("nap", datetime.timedelta(hours=1))
    return "woke"


functions = [greet, sleepy, run_status_function(inngest_client)]

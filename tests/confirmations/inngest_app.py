"""Inngest clients and functions for the confirmation tests."""

from __future__ import annotations

import os
from typing import Any

import inngest
import pydantic
from inngest.experimental import mocked

from django_inngest_realtime import channel, realtime_middleware, topic
from django_inngest_realtime.confirmations import (
    request_confirmation,
    request_confirmation_sync,
    wait_for_confirmation,
    wait_for_confirmation_sync,
)

agentic = channel("agentic:{id}").add_topic(topic("messages"))


class Budget(pydantic.BaseModel):
    amount: int
    note: str = ""


def make_reply_client(url: str) -> inngest.Inngest:
    """A real client sending events over HTTP to ``url`` (the Event API stand-in)."""
    return inngest.Inngest(
        app_id="confirmation-tests",
        event_api_base_url=url,
        event_key="test-event-key",
        is_production=False,
    )


#: Named by INNGEST_REALTIME["INNGEST_CLIENT"] in these tests; the fixture replaces it.
reply_client = make_reply_client(
    os.environ.get("CONFIRMATIONS_TEST_EVENT_API", "http://127.0.0.1:9")
)
functions = mocked.Inngest(
    app_id="confirmation-tests", middleware=[realtime_middleware()], is_production=False
)


def _outcome(token: str, decision: Any) -> dict[str, Any]:
    if decision is None:
        return {"token": token, "outcome": "timeout"}
    return {
        "token": token,
        "outcome": "approved" if decision.approved else "rejected",
        "status": decision.status,
        "by": decision.decided_by,
        "data": decision.data,
        "timed_out": decision.timed_out,
        "chosen": decision.chosen,
    }


def _options(event: inngest.Event) -> dict[str, Any]:
    data = dict(event.data)
    return {
        "title": data.get("title", "Deploy"),
        "message": data.get("message", "Confirm to proceed?"),
        "timeout": data.get("timeout", "15m"),
        "assignees": data.get("assignees", []),
        "groups": data.get("groups", []),
        "default": data.get("default"),
        "response_schema": data.get("schema"),
        "options": data.get("options", []),
        "multiple": data.get("multiple", False),
    }


@functions.create_function(fn_id="agent", trigger=inngest.TriggerEvent(event="agent/run"))
async def agent(ctx: inngest.Context) -> dict[str, Any]:
    """The agentic workflow: ask, wait, branch."""
    conf = await request_confirmation(
        ctx, channel=agentic(ctx.event.data["id"]), topic="messages", **_options(ctx.event)
    )
    decision = await wait_for_confirmation(ctx, conf)
    if decision and decision.approved:
        await ctx.step.run("deploy", lambda: "deployed")
    return _outcome(conf.token, decision)


@functions.create_function(fn_id="agent-sync", trigger=inngest.TriggerEvent(event="agent/sync"))
def agent_sync(ctx: inngest.ContextSync) -> dict[str, Any]:
    conf = request_confirmation_sync(
        ctx, channel=agentic(ctx.event.data["id"]), topic="messages", **_options(ctx.event)
    )
    return _outcome(conf.token, wait_for_confirmation_sync(ctx, conf))


@functions.create_function(fn_id="two-asks", trigger=inngest.TriggerEvent(event="agent/two"))
async def two_asks(ctx: inngest.Context) -> list[str]:
    """Asks twice with the same step id: two confirmations, not one."""
    first = await request_confirmation(
        ctx, channel="agentic:two", topic="messages", message="First?", timeout="1h"
    )
    second = await request_confirmation(
        ctx, channel="agentic:two", topic="messages", message="Second?", timeout="1h"
    )
    return [first.token, second.token]


@functions.create_function(fn_id="ask", trigger=inngest.TriggerEvent(event="agent/ask"))
async def ask(ctx: inngest.Context) -> str:
    """Only asks (the confirmation stays pending): what notices are about."""
    conf = await request_confirmation(
        ctx, channel=agentic(ctx.event.data["id"]), topic="messages", **_options(ctx.event)
    )
    return conf.token

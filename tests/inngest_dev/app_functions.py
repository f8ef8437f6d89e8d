"""A small project's Inngest functions, served with ``serve_inngest()``: steps, a wait
for an event, and a deliberate failure."""

from __future__ import annotations

import datetime

import inngest

inngest_client = inngest.Inngest(app_id="dev-app")


@inngest_client.create_function(fn_id="greet", trigger=inngest.TriggerEvent(event="dev/greet"))
async def greet(ctx: inngest.Context) -> str:
    name = await ctx.step.run("read-name", lambda: str(ctx.event.data["name"]))
    return await ctx.step.run("shout", lambda: f"HELLO, {name.upper()}")


@inngest_client.create_function(
    fn_id="approve", trigger=inngest.TriggerEvent(event="dev/approval.requested")
)
async def approve(ctx: inngest.Context) -> dict[str, object]:
    decision = await ctx.step.wait_for_event(
        "wait-decision",
        event="dev/approval.decided",
        if_exp="event.data.id == async.data.id",
        timeout=datetime.timedelta(hours=1),
    )
    return {"approved": bool(decision and decision.data.get("approved"))}


@inngest_client.create_function(
    fn_id="fails", retries=0, trigger=inngest.TriggerEvent(event="dev/fail")
)
async def fails(ctx: inngest.Context) -> None:
    raise inngest.NonRetriableError("deliberate failure")


functions = [greet, approve, fails]

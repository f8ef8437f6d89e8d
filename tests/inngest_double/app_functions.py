"""The Inngest functions the double runs in its end-to-end tests.

The client reads its mode and URLs from the environment the test gives Daphne
(``INNGEST_DEV=<double url>``, or ``INNGEST_DEV=0`` with ``INNGEST_SIGNING_KEY``).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

import inngest
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from inngest.experimental.ai import openai as ai_openai

from django_inngest_realtime import channel, publish, realtime_middleware, topic

double_channel = channel("double:{id}").add_topic(topic("logs").type(str))

inngest_client = inngest.Inngest(app_id="double-app", middleware=[realtime_middleware()])


@inngest_client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="double/steps"))
async def steps(ctx: inngest.Context) -> dict[str, Any]:
    n = await ctx.step.run("read", lambda: int(ctx.event.data["n"]))
    doubled = await ctx.step.run("double", lambda: n * 2)
    repeats = [await ctx.step.run("repeat", lambda i=i: i) for i in range(2)]
    return {"n": n, "doubled": doubled, "repeats": repeats, "attempt": ctx.attempt}


@inngest_client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="double/sleep"))
async def sleeper(ctx: inngest.Context) -> str:
    await ctx.step.run("before", lambda: "before")
    await ctx.step.sleep("nap", datetime.timedelta(hours=1))
    await ctx.step.run("after", lambda: "after")
    return "woke"


@inngest_client.create_function(
    fn_id="approval", trigger=inngest.TriggerEvent(event="double/approval.requested")
)
async def approval(ctx: inngest.Context) -> dict[str, Any]:
    decision = await ctx.step.wait_for_event(
        "wait-decision",
        event="double/approval.decided",
        if_exp='event.data.request_id == async.data.request_id && async.data.kind == "approval"',
        timeout=datetime.timedelta(hours=1),
    )
    return {"decision": dict(decision.data) if decision else None}


@inngest_client.create_function(
    fn_id="flaky", retries=2, trigger=inngest.TriggerEvent(event="double/flaky")
)
async def flaky(ctx: inngest.Context) -> str:
    def work() -> str:
        if ctx.attempt == 0:
            raise RuntimeError("first attempt fails")
        return f"ok on attempt {ctx.attempt}"

    return await ctx.step.run("flaky-step", work)


async def on_broken_failure(ctx: inngest.Context) -> dict[str, Any]:
    return {"failed_run": ctx.event.data["run_id"], "error": ctx.event.data["error"]}


@inngest_client.create_function(
    fn_id="broken",
    retries=1,
    on_failure=on_broken_failure,
    trigger=inngest.TriggerEvent(event="double/broken"),
)
async def broken(ctx: inngest.Context) -> None:
    raise RuntimeError(f"broken on attempt {ctx.attempt}")


@inngest_client.create_function(
    fn_id="non-retriable", trigger=inngest.TriggerEvent(event="double/non-retriable")
)
async def non_retriable(ctx: inngest.Context) -> None:
    raise inngest.NonRetriableError("do not retry me")


@inngest_client.create_function(
    fn_id="parallel", trigger=inngest.TriggerEvent(event="double/parallel")
)
async def parallel(ctx: inngest.Context) -> list[str]:
    results = await ctx.group.parallel(
        (
            lambda: ctx.step.run("left", lambda: "L"),
            lambda: ctx.step.run("right", lambda: "R"),
        )
    )
    after = await ctx.step.run("after-parallel", lambda: "A")
    return [*results, after]


@inngest_client.create_function(
    fn_id="invoker", trigger=inngest.TriggerEvent(event="double/invoke")
)
async def invoker(ctx: inngest.Context) -> Any:
    return await ctx.step.invoke("call-steps", function=steps, data={"n": 21})


@inngest_client.create_function(
    fn_id="sync-steps", trigger=inngest.TriggerEvent(event="double/sync")
)
def sync_steps(ctx: inngest.ContextSync) -> str:
    first = ctx.step.run("one", lambda: "1")
    return first + ctx.step.run("two", lambda: "2")


@inngest_client.create_function(fn_id="ai", trigger=inngest.TriggerEvent(event="double/ai"))
async def ai(ctx: inngest.Context) -> Any:
    adapter = ai_openai.Adapter(auth_key="not-a-key", model="gpt-test")
    return await ctx.step.ai.infer("ask", adapter=adapter, body={"messages": []})


@inngest_client.create_function(
    fn_id="bad-expression", trigger=inngest.TriggerEvent(event="double/bad-expression")
)
async def bad_expression(ctx: inngest.Context) -> Any:
    return await ctx.step.wait_for_event(
        "wait-size",
        event="double/items",
        if_exp="size(async.data.items) > 2",
        timeout=datetime.timedelta(minutes=1),
    )


@inngest_client.create_function(
    fn_id="publisher", trigger=inngest.TriggerEvent(event="double/publish")
)
async def publisher(ctx: inngest.Context) -> str:
    sent = await publish(double_channel(str(ctx.event.data["id"])).logs("x"))
    return sent.id


@inngest_client.create_function(
    fn_id="wait-if", trigger=inngest.TriggerEvent(event="double/wait-if")
)
async def wait_if(ctx: inngest.Context) -> dict[str, Any]:
    """Waits for ``double/wait-if.reply`` with the ``if`` expression the event carries."""
    reply = await ctx.step.wait_for_event(
        "wait-reply",
        event="double/wait-if.reply",
        if_exp=str(ctx.event.data["if"]),
        timeout=datetime.timedelta(hours=1),
    )
    return {"reply": dict(reply.data) if reply else None}


@inngest_client.create_function(
    fn_id="finish-timeout",
    retries=0,
    timeouts=inngest.Timeouts(finish=datetime.timedelta(minutes=10)),
    trigger=inngest.TriggerEvent(event="double/finish-timeout"),
)
async def finish_timeout(ctx: inngest.Context) -> str:
    await ctx.step.run("before", lambda: "before")
    await ctx.step.sleep("nap", datetime.timedelta(minutes=int(ctx.event.data["minutes"])))
    return await ctx.step.run("after", lambda: "after")


@inngest_client.create_function(
    fn_id="on-cancelled",
    trigger=inngest.TriggerEvent(
        event="inngest/function.cancelled",
        expression="event.data.function_id == 'double-app-finish-timeout'",
    ),
)
async def on_cancelled(ctx: inngest.Context) -> dict[str, Any]:
    return {"cancelled_run": ctx.event.data["run_id"], "error": ctx.event.data["error"]}


@inngest_client.create_function(
    fn_id="slow-step",
    retries=0,
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=1)),
    trigger=inngest.TriggerEvent(event="double/slow-step"),
)
async def slow_step(ctx: inngest.Context) -> str:
    async def slow() -> str:
        await asyncio.sleep(1.5)  # longer than the function's finish timeout
        return "slow"

    await ctx.step.run("slow", slow)
    return await ctx.step.run("after", lambda: "after")


@inngest_client.create_function(
    fn_id="parallel-timeout",
    retries=0,
    timeouts=inngest.Timeouts(finish=datetime.timedelta(minutes=10)),
    trigger=inngest.TriggerEvent(event="double/parallel-timeout"),
)
async def parallel_timeout(ctx: inngest.Context) -> Any:
    async def slow() -> str:
        await asyncio.sleep(1.0)
        return "slow"

    return await ctx.group.parallel(
        (
            lambda: ctx.step.sleep("nap", datetime.timedelta(hours=1)),
            lambda: ctx.step.run("slow", slow),
        )
    )


@inngest_client.create_function(
    fn_id="start-timeout",
    timeouts=inngest.Timeouts(start=datetime.timedelta(minutes=10)),
    trigger=inngest.TriggerEvent(event="double/start-timeout"),
)
async def start_timeout(ctx: inngest.Context) -> str:
    return await ctx.step.run("ran", lambda: "ran")


@inngest_client.create_function(
    fn_id="big-step", retries=0, trigger=inngest.TriggerEvent(event="double/big-step")
)
async def big_step(ctx: inngest.Context) -> int:
    size = int(ctx.event.data["size"])
    return len(await ctx.step.run("big", lambda: "x" * size))


@inngest_client.create_function(
    fn_id="big-output", retries=1, trigger=inngest.TriggerEvent(event="double/big-output")
)
async def big_output(ctx: inngest.Context) -> str:
    return "A" * int(ctx.event.data["size"])


@csrf_exempt
async def send_view(request: HttpRequest, name: str) -> JsonResponse:
    """Send an event from Django with the app's client (``POST`` body: the event data)."""
    ids = await inngest_client.send(inngest.Event(name=name, data=json.loads(request.body or "{}")))
    return JsonResponse({"ids": ids})


functions = [
    steps,
    sleeper,
    approval,
    flaky,
    broken,
    non_retriable,
    parallel,
    invoker,
    sync_steps,
    ai,
    bad_expression,
    publisher,
    wait_if,
    finish_timeout,
    slow_step,
    parallel_timeout,
    on_cancelled,
    start_timeout,
    big_step,
    big_output,
]

"""The demo's Inngest client and functions, one per pattern of the Inngest Realtime guide."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import inngest
from asgiref.sync import sync_to_async

from demo_project.demo.channels import (
    agentic_channel,
    global_channel,
    hello_channel,
    job_channel,
    post_channel,
    story_channel,
)
from demo_project.demo.models import Post
from django_inngest_realtime import (
    publish,
    publish_stream,
    realtime_middleware,
    run_status_function,
)
from django_inngest_realtime.confirmations import request_confirmation, wait_for_confirmation

inngest_client = inngest.Inngest(
    app_id="django-inngest-realtime-demo",
    is_production=os.environ.get("INNGEST_DEV", "1") == "0",
    middleware=[realtime_middleware()],
)


@inngest_client.create_function(
    fn_id="hello-world",
    trigger=inngest.TriggerEvent(event="hello-world/hello"),
)
async def hello_world(ctx: inngest.Context) -> str:
    """Stream updates from a single run: greet, then answer the prompt it was sent."""
    logs = hello_channel(ctx.event.data["uuid"]).logs
    prompt = str(ctx.event.data.get("prompt") or "")
    await publish(logs("Hello, world!"))
    if not prompt:
        return ""

    def answer_prompt() -> str:  # a stand-in for a model call, memoized as one would be
        return f"You said {prompt!r} ({len(prompt)} characters)."

    answer = await ctx.step.run("answer", answer_prompt)
    await publish(logs(answer))
    return answer


@inngest_client.create_function(
    fn_id="post-like",
    trigger=inngest.TriggerEvent(event="app/post.like"),
    retries=0,
)
async def like_post(ctx: inngest.Context) -> dict[str, object]:
    """Stream updates from multiple runs: the global log and each post's counter."""
    post_id = ctx.event.data.get("postId")
    if not post_id:
        await publish(global_channel().logs("Missing postId when trying to like post"))
        raise inngest.NonRetriableError("Missing postId")
    await publish(global_channel().logs(f"Liking post {post_id}"))

    async def update_likes() -> dict[str, object]:
        likes = await sync_to_async(Post.like)(int(str(post_id)))
        return {"id": str(post_id), "likes": likes}

    post = await ctx.step.run("update-likes", update_likes)
    await publish(post_channel(post["id"]).updated(post))
    return post


STORY = (
    "Once upon a time, a Django app wanted to show its users what its background jobs "
    "were doing. It published every step to a channel, and the page updated itself, "
    "word by word, as the model wrote."
)


@inngest_client.create_function(
    fn_id="story",
    trigger=inngest.TriggerEvent(event="demo/story.requested"),
)
async def story(ctx: inngest.Context) -> str:
    """Streamed output: a simulated LLM writing word by word."""
    prompt = str(ctx.event.data.get("prompt") or "a story")

    async def words() -> AsyncIterator[str]:
        for i, word in enumerate(f"[{prompt}] {STORY}".split(" ")):
            await asyncio.sleep(0.05)
            yield word if i == 0 else f" {word}"

    return await publish_stream(story_channel(ctx.event.data["uuid"]).tokens, words())


@inngest_client.create_function(
    fn_id="agentic-workflow",
    trigger=inngest.TriggerEvent(event="agentic-workflow/start"),
)
async def agentic_workflow(ctx: inngest.Context) -> str:
    """Human in the loop: pause for an approval, then go on or stop."""
    logs = agentic_channel().logs
    await publish(logs("Researching the task..."))
    await ctx.step.run("initial-step", lambda: {"plan": "send the weekly report"})
    confirmation = await request_confirmation(
        ctx,
        channel=agentic_channel(),
        topic="messages",
        title="Send the weekly report?",
        message="Confirm to proceed?",
        timeout="15m",
    )
    decision = await wait_for_confirmation(ctx, confirmation)
    if decision is None:
        await publish(logs("Nobody answered within 15 minutes; stopping."))
        return "timed out"
    if not decision.approved:
        await publish(logs(f"Rejected by {decision.decided_by}; stopping."))
        return "rejected"
    await publish(logs(f"Approved by {decision.decided_by}; proceeding."))
    await ctx.step.run("send-report", lambda: {"sent": True})
    await publish(logs("Done: the weekly report was sent."))
    return "done"


@inngest_client.create_function(
    fn_id="report-delivery",
    trigger=inngest.TriggerEvent(event="agentic-workflow/choices"),
)
async def report_delivery(ctx: inngest.Context) -> str:
    """Human in the loop with choices: tick where the report goes (or let it time out)."""
    logs = agentic_channel().logs
    confirmation = await request_confirmation(
        ctx,
        channel=agentic_channel(),
        topic="messages",
        title="Where should the weekly report go?",
        message="Tick one or more.",
        timeout="15m",
        options=["Email", "Slack", "Wiki"],
        multiple=True,
        default=["Email"],  # on timeout: a Decision choosing Email, marked timed_out
        assignees=["admin"],  # admin gets an email (printed on the demo's console)
    )
    decision = await wait_for_confirmation(ctx, confirmation)
    assert decision is not None  # with a default, a timeout is a Decision too
    if not decision.approved:
        await publish(logs(f"{decision.status.capitalize()}; the report stays unsent."))
        return decision.status
    where = ", ".join(decision.chosen)
    who = "nobody answered" if decision.timed_out else f"chosen by {decision.decided_by}"
    await publish(logs(f"Sending the weekly report to {where} ({who})."))
    return where


@inngest_client.create_function(
    fn_id="demo-job", trigger=inngest.TriggerEvent(event="demo/job.requested"), retries=0
)
async def job(ctx: inngest.Context) -> dict[str, int]:
    """Run status: a job that takes a moment, then completes or fails as it was asked."""
    logs = job_channel(ctx.event.data["uuid"]).logs
    await publish(logs("Counting to three ..."))

    async def count() -> int:
        for _ in range(3):
            await asyncio.sleep(0.5)  # a stand-in for real work, long enough to watch
        return 3

    counted = await ctx.step.run("count", count)
    await publish(logs(f"Counted to {counted}."))
    if ctx.event.data.get("fail"):
        raise inngest.NonRetriableError("The job was asked to fail.")
    return {"counted": counted}


functions = [
    hello_world,
    job,
    like_post,
    story,
    agentic_workflow,
    report_delivery,
    # Publishes the status of runs Inngest cancels, or that fail outside their code.
    run_status_function(inngest_client),
]

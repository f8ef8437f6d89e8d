"""Run lifecycle messages (``kind: "run"``), published by the realtime middleware once per
run, run by the SDK's own executor (``inngest.experimental.mocked``: every run's id is
``"test"``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import inngest
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import connections
from inngest.experimental import mocked

from django_inngest_realtime import get_subscription_token, publish, publish_sync
from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.middleware import realtime_middleware, run_status_function
from django_inngest_realtime.models import RunRecord, RunTarget
from django_inngest_realtime.run_channels import run_channel_ref
from django_inngest_realtime.testing.capture import CapturedMessages, capture_messages
from django_inngest_realtime.topics import channel, topic
from tests.channels import live, private
from tests.helpers import realtime_settings

# Writes from the SDK's async runs use another connection: flush the tables after each test.
pytestmark = pytest.mark.django_db(transaction=True)

RUN = "$run:test"
client = mocked.Inngest(app_id="rs-app", middleware=[realtime_middleware()], is_production=False)
attempts: list[int] = []


@pytest.fixture(autouse=True)
def _no_runs(request: pytest.FixtureRequest) -> Iterator[None]:
    RunRecord.objects.all().delete()
    RunTarget.objects.all().delete()
    attempts.clear()
    if "until_run_end" in request.node.name:
        yield  # one event loop: the configuration's broker
        return
    # The SDK's mocked runs use a new event loop for each replay, which a channel layer
    # kept across them does not survive (the project's NOTES, fact 5): these tests are about the
    # middleware; tests/test_run_status_live.py runs the real thing on every broker.
    with realtime_settings(BROKER="local"):
        yield


@client.create_function(fn_id="two-channels", trigger=inngest.TriggerEvent(event="rs/two"))
async def two_channels(ctx: inngest.Context) -> dict[str, Any]:
    await publish(live("a").logs("first"))
    n = await ctx.step.run("work", lambda: 21)
    await publish(live("a").votes({"id": "p", "likes": n}))
    await ctx.step.run("inside", lambda: None)
    await publish(private("ann").logs("done"))
    return {"answer": n * 2}


@client.create_function(fn_id="sync-fn", trigger=inngest.TriggerEvent(event="rs/sync"))
def sync_fn(ctx: inngest.ContextSync) -> str:
    publish_sync(live("s").logs("hello"))
    ctx.step.run("work", lambda: 1)
    return "ok"


@client.create_function(
    fn_id="refuses", retries=3, trigger=inngest.TriggerEvent(event="rs/refuses")
)
async def refuses(ctx: inngest.Context) -> None:
    await publish(live("r").logs("trying"))
    raise inngest.NonRetriableError("no such order")


@client.create_function(fn_id="flaky", retries=2, trigger=inngest.TriggerEvent(event="rs/flaky"))
async def flaky(ctx: inngest.Context) -> str:
    attempts.append(ctx.attempt)
    await publish(live("f").logs("trying"))
    if ctx.attempt < int(ctx.event.data["fail"]):
        raise ValueError(f"attempt {ctx.attempt} failed")
    return "made it"


def run(fn: Any, name: str, data: dict[str, Any] | None = None) -> mocked.TriggerResult:
    return mocked.trigger(fn, inngest.Event(name=name, data=data or {}), client)


def statuses(captured: CapturedMessages) -> list[tuple[str, str, Any]]:
    return [(m.channel, m.topic, m.data) for m in captured if m.kind == "run"]


def test_a_completed_run_tells_every_topic_it_published_on_and_its_own_channel() -> None:
    with capture_messages() as captured:
        res = run(two_channels, "rs/two")
    assert res.status is mocked.Status.COMPLETED, res.error
    done = {"status": "completed", "output": {"answer": 42}}
    # The start once (the body ran four times), the end once per target, after the data.
    assert statuses(captured) == [
        (RUN, "run", {"status": "running"}),
        ("live:a", "logs", done),
        ("live:a", "votes", done),
        ("private:ann", "logs", done),
        (RUN, "run", done),
    ]
    assert captured[-1].kind == "run" and captured[1].kind == "data"
    kinds = [m.kind for m in captured]
    assert kinds.index("run", 1) > max(i for i, k in enumerate(kinds) if k == "data")
    assert {(m.run_id, m.fn_id) for m in captured} == {("test", "rs-app-two-channels")}
    assert RunRecord.objects.get(run_id="test").status == "completed"


def test_each_status_is_sent_once_per_run_even_when_the_run_is_replayed_again() -> None:
    with capture_messages() as first:
        run(two_channels, "rs/two")
    with capture_messages() as again:  # the same run id: Inngest retrying a request
        res = run(two_channels, "rs/two")
    assert res.status is mocked.Status.COMPLETED, res.error
    assert statuses(again) == []
    assert len({m.id for m in first if m.kind == "run"}) == 5


def test_a_sync_function_publishes_its_status_too() -> None:
    with capture_messages() as captured:
        res = run(sync_fn, "rs/sync")
    assert res.status is mocked.Status.COMPLETED, res.error
    assert captured.statuses(RUN) == ["running", "completed"]
    assert captured.statuses("live:s", "logs") == ["completed"]
    assert captured.on("live:s")[-1].data["output"] == "ok"


def test_a_non_retriable_error_fails_the_run_with_its_name_and_message() -> None:
    with capture_messages() as captured:
        res = run(refuses, "rs/refuses")
    assert res.status is mocked.Status.FAILED
    failed = {
        "status": "failed",
        "error": {"name": "NonRetriableError", "message": "no such order"},
    }
    assert statuses(captured)[1:] == [("live:r", "logs", failed), (RUN, "run", failed)]


def test_a_retried_error_fails_the_run_only_on_its_last_attempt() -> None:
    with capture_messages() as captured:
        res = run(flaky, "rs/flaky", {"fail": 99})
    assert res.status is mocked.Status.FAILED
    assert sorted(set(attempts)) == [0, 1, 2]  # retries=2
    assert captured.statuses(RUN) == ["running", "failed"]
    assert captured.on(RUN)[-1].data["error"] == {
        "name": "ValueError",
        "message": "attempt 2 failed",
    }


def test_a_run_that_recovers_on_a_retry_completes() -> None:
    with capture_messages() as captured:
        res = run(flaky, "rs/flaky", {"fail": 1})
    assert res.status is mocked.Status.COMPLETED, res.error
    assert captured.statuses(RUN) == ["running", "completed"]
    assert captured.statuses("live:f", "logs") == ["completed"]


def test_an_output_over_the_payload_limit_is_left_out() -> None:
    big = channel("rs-big").add_topic(topic("logs"))

    @client.create_function(fn_id="big", trigger=inngest.TriggerEvent(event="rs/big"))
    async def big_output(ctx: inngest.Context) -> str:
        await publish(big().logs("x"))
        return "y" * 2000

    with realtime_settings(MAX_PAYLOAD_BYTES=1000), capture_messages() as captured:
        res = run(big_output, "rs/big")
    assert res.status is mocked.Status.COMPLETED, res.error
    assert captured.on(RUN)[-1].data == {"status": "completed", "output_omitted": True}


def test_run_status_off_sends_none_and_keeps_no_rows() -> None:
    with realtime_settings(RUN_STATUS=False), capture_messages() as captured:
        res = run(two_channels, "rs/two")
    assert res.status is mocked.Status.COMPLETED, res.error
    assert statuses(captured) == []
    assert [m.kind for m in captured] == ["data"] * 3
    assert not RunRecord.objects.exists() and not RunTarget.objects.exists()


status_fn = run_status_function(client)


def system_event(name: str, run_id: str = "test", **extra: Any) -> mocked.TriggerResult:
    data = {"function_id": "rs-app-two-channels", "run_id": run_id, **extra}
    return run(status_fn, name, data)


def test_the_run_status_function_publishes_a_cancellation_once() -> None:
    RunRecord.objects.create(run_id="test", fn_id="rs-app-two-channels")
    RunTarget.objects.create(run_id="test", key="k", channel="live:c", topic="logs")
    with capture_messages() as captured:
        res = system_event("inngest/function.cancelled")
        again = system_event("inngest/function.cancelled")
    assert res.status is mocked.Status.COMPLETED, res.error
    assert again.output == "already published"
    assert statuses(captured) == [
        ("live:c", "logs", {"status": "cancelled"}),
        (RUN, "run", {"status": "cancelled"}),
    ]
    assert RunRecord.objects.get(run_id="test").status == "cancelled"


def test_the_run_status_function_publishes_a_failure_the_sdk_did_not_see() -> None:
    RunRecord.objects.create(run_id="test", fn_id="rs-app-two-channels")
    error = {"name": "Error", "message": "step output size is greater than the limit"}
    with capture_messages() as captured:
        res = system_event("inngest/function.failed", error=error)
    assert res.status is mocked.Status.COMPLETED, res.error
    assert statuses(captured) == [(RUN, "run", {"status": "failed", "error": error})]


def test_the_run_status_function_leaves_ended_and_unknown_runs_alone() -> None:
    with capture_messages() as captured:
        run(two_channels, "rs/two")
        ended = system_event("inngest/function.failed", error={"name": "E", "message": "m"})
        unknown = system_event("inngest/function.cancelled", run_id="another-app-run")
    assert (ended.output, unknown.output) == ("already published", "already published")
    assert [m.data["status"] for m in captured if m.kind == "run"][-1] == "completed"
    assert not RunRecord.objects.filter(run_id="another-app-run").exists()


def test_the_run_status_function_publishes_no_status_of_its_own() -> None:
    with capture_messages() as captured:
        system_event("inngest/function.cancelled", run_id="nobody")
    assert list(captured) == []


def test_the_run_channel_is_open_to_whoever_may_subscribe_to_a_channel_of_the_run() -> None:
    run(two_channels, "rs/two")  # published on live:a (anyone) and private:ann (ann only)
    ann = User.objects.create_user("ann")
    bob = User.objects.create_user("bob")
    for user in (ann, bob, AnonymousUser()):
        token = get_subscription_token(run_channel_ref("test"), user=user)
        assert (token["channel"], token["topics"]) == (RUN, ["run"])
    RunTarget.objects.filter(channel="live:a").delete()  # now only private:ann
    assert get_subscription_token(RUN, user=ann)["channel"] == RUN
    with pytest.raises(PermissionDenied):
        get_subscription_token(RUN, user=bob)
    with pytest.raises(PermissionDenied):  # a run that published nowhere yet
        get_subscription_token("$run:unknown", user=ann)


def test_no_channel_of_a_project_can_make_a_run_channel_name() -> None:
    with pytest.raises(ValueError, match="reserved"):
        channel("$run:{id}")
    anything = channel("{name}:rs-any").add_topic(topic("logs"))
    with pytest.raises(ValueError, match="reserved"):
        anything("$run:test")
    assert anything("x").name == "x:rs-any"


async def test_a_subscription_until_run_end_ends_after_the_run_s_end() -> None:
    from asgiref.sync import sync_to_async

    from django_inngest_realtime import subscribe
    from django_inngest_realtime.run_status import Outcome, begin, end

    for run_id in ("other", "mine"):
        await begin(run_id, "fn")
    stream = await subscribe(live("until"), ["logs"], until_run_end="mine")
    whole = await subscribe(live("until"), ["logs"], until_run_end=True, since=0)
    await publish(live("until").logs("working"))
    await end("other", "fn", Outcome.failed("E", "m"), [("live:until", "logs")])
    await end("mine", "fn", Outcome.completed(7), [("live:until", "logs")])
    await publish(live("until").logs("after the end"))
    got = [(m.kind, m.run_id, m.data) async for m in stream]
    assert got == [
        ("data", None, "working"),
        ("run", "other", {"status": "failed", "error": {"name": "E", "message": "m"}}),
        ("run", "mine", {"status": "completed", "output": 7}),
    ]
    assert [m.kind async for m in whole] == ["data", "run"]  # any run's end
    await stream.close()
    await whole.close()
    assert await sync_to_async(RunRecord.objects.get)(run_id="mine")
    # What the ORM opened in asgiref's sync thread, so the test database can be dropped,
    # and what this loop's broker holds (a RabbitMQ layer's connection).
    await sync_to_async(connections.close_all)()
    await get_broker().aclose()

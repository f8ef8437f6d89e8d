"""Inngest functions publishing, run by the SDK's own executor (``inngest.experimental.mocked``)."""

from __future__ import annotations

from typing import Any

import inngest
import pytest
from inngest.experimental import mocked

from django_inngest_realtime import channel, publish, publish_sync, realtime_middleware, topic
from django_inngest_realtime.testing.capture import capture_messages

# The ``channels`` broker keeps history in the database.
pytestmark = pytest.mark.django_db

runs = channel("m-run:{id}").add_topic(topic("logs").type(str))
client = mocked.Inngest(app_id="test-app", middleware=[realtime_middleware()], is_production=False)
calls: list[str] = []


@client.create_function(fn_id="async-fn", trigger=inngest.TriggerEvent(event="t/async"))
async def async_fn(ctx: inngest.Context) -> str:
    calls.append("body")
    first = await publish(runs("1").logs("outside a step"))

    async def work() -> str:
        await publish(runs("1").logs("inside a step"))
        return "worked"

    result = await ctx.step.run("work", work)
    await publish(runs("1").logs("after the step"))
    return f"{result}:{first.data}"


@client.create_function(fn_id="sync-fn", trigger=inngest.TriggerEvent(event="t/sync"))
def sync_fn(ctx: inngest.ContextSync) -> str:
    publish_sync(runs("2").logs("sync outside"))
    ctx.step.run("work", lambda: publish_sync(runs("2").logs("sync inside")).seq)
    return "done"


@client.create_function(fn_id="named-fn", trigger=inngest.TriggerEvent(event="t/named"))
async def named_fn(ctx: inngest.Context) -> dict[str, object]:
    sent = await publish(runs("4").logs("announced"), step_id="announce")
    return {"id": sent.id, "seq": sent.seq, "data": sent.data, "run": sent.run_id}


@client.create_function(fn_id="named-sync-fn", trigger=inngest.TriggerEvent(event="t/named-sync"))
def named_sync_fn(ctx: inngest.ContextSync) -> dict[str, object]:
    sent = publish_sync(runs("5").logs("announced"), step_id="announce")
    return {"id": sent.id, "seq": sent.seq, "data": sent.data, "run": sent.run_id}


def test_async_function_publishes_once_despite_replays() -> None:
    calls.clear()
    with capture_messages() as captured:
        res = mocked.trigger(async_fn, inngest.Event(name="t/async"), client)
    assert res.status is mocked.Status.COMPLETED, res.error
    assert len(calls) > 3  # the function body really was replayed
    assert captured.data("m-run:1") == ["outside a step", "inside a step", "after the step"]
    assert res.output == "worked:outside a step"
    assert {(m.run_id, m.fn_id) for m in captured} == {("test", "test-app-async-fn")}
    assert len({m.id for m in captured if m.kind == "data"}) == 3


def test_publish_outside_a_step_is_a_publish_step() -> None:
    # Stubbing the step id "publish:<channel>" replaces the publish: it really is a step.
    with capture_messages() as captured:
        res = mocked.trigger(
            async_fn,
            inngest.Event(name="t/async"),
            client,
            step_stubs={
                "publish:m-run:1": {
                    "id": "x",
                    "seq": 41,
                    "kind": "data",
                    "channel": "m-run:1",
                    "topic": "logs",
                    "data": "stub",
                    "created_at": "2026-01-01T00:00:00Z",
                }
            },
        )
    assert res.status is mocked.Status.COMPLETED, res.error
    assert res.output == "worked:stub"
    assert captured.data("m-run:1") == ["inside a step"]


@pytest.mark.parametrize(("fn", "event"), [(named_fn, "t/named"), (named_sync_fn, "t/named-sync")])
def test_explicit_step_id_and_the_lean_memo(fn: Any, event: str) -> None:
    # The step is the one named by step_id; what it stores ({id, seq}) rebuilds the message.
    with capture_messages() as captured:
        res = mocked.trigger(
            fn, inngest.Event(name=event), client, step_stubs={"announce": {"id": "x", "seq": 41}}
        )
    assert res.status is mocked.Status.COMPLETED, res.error
    assert res.output == {"id": "x", "seq": 41, "data": "announced", "run": "test"}
    assert list(captured) == []  # stubbed: nothing was sent
    with capture_messages() as captured:
        res = mocked.trigger(fn, inngest.Event(name=event), client)
    assert res.status is mocked.Status.COMPLETED, res.error
    assert [(m.id, m.seq, m.data) for m in captured] == [
        (res.output["id"], res.output["seq"], "announced")  # type: ignore[index]
    ]


def test_a_memo_publish_did_not_store_fails_the_run_clearly() -> None:
    res = mocked.trigger(
        named_fn, inngest.Event(name="t/named"), client, step_stubs={"announce": "garbage"}
    )
    assert res.status is mocked.Status.FAILED
    assert "not the {id, seq} publish() stores" in str(res.error)


def test_step_id_must_be_a_non_empty_string() -> None:
    @client.create_function(fn_id="bad-step-id", trigger=inngest.TriggerEvent(event="t/bad"))
    async def bad(ctx: inngest.Context) -> None:
        await publish(runs("6").logs("x"), step_id="")

    res = mocked.trigger(bad, inngest.Event(name="t/bad"), client)
    assert res.status is mocked.Status.FAILED
    assert "non-empty string" in str(res.error)


def test_sync_function_publishes_once() -> None:
    with capture_messages() as captured:
        res = mocked.trigger(sync_fn, inngest.Event(name="t/sync"), client)
    assert res.status is mocked.Status.COMPLETED, res.error
    assert captured.data("m-run:2") == ["sync outside", "sync inside"]
    assert captured[0].fn_id == "test-app-sync-fn"


def test_publish_outside_any_run_has_no_run_fields() -> None:
    with capture_messages() as captured:
        publish_sync(runs("3").logs("plain"))
    assert captured[0].run_id is None and captured[0].fn_id is None

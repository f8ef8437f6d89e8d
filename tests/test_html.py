"""``publish_html()``: live HTML rendered once, checked, and published as ordinary data."""

from __future__ import annotations

from typing import Any

import inngest
import pydantic
import pytest
from django.core.asgi import get_asgi_application
from django.test import Client
from inngest.experimental import mocked

from django_inngest_realtime import (
    channel,
    get_subscription_token,
    publish,
    publish_html,
    publish_html_sync,
    publish_sync,
    realtime_middleware,
)
from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.fragments import UnsafeFragment
from django_inngest_realtime.html import dom_id, html_topic
from tests.asgi_client import StreamingResponse
from tests.broadcast_app.templatetags.render_counter import renders
from tests.channels import live, pages

# The channels broker keeps history in the database.
pytestmark = pytest.mark.django_db

two_html = channel("two-html:{id}").add_topic(html_topic("a")).add_topic(html_topic("b"))


def history(name: str) -> list[dict[str, object]]:
    return [m.data for m in get_broker().history_sync(name, 0).messages]


@pytest.mark.django_db(transaction=True)
def test_renders_once_escapes_the_context_and_publishes_data(broker: str) -> None:
    before = renders["item"]
    sent = publish_html_sync(
        pages("h1"),
        "append",
        "items",
        template="html_item.html",
        context={"n": 1, "text": '<img src=x onerror="alert(1)"> & co'},
    )
    assert renders["item"] == before + 1
    assert sent.kind == "data" and sent.topic == "html" and sent.channel == "page:h1"
    assert sent.data == {
        "action": "append",
        "target": "items",
        "html": '<li id="item-1" class="item">&lt;img src=x onerror=&quot;alert(1)&quot;&gt; '
        "&amp; co</li>\n",
    }
    assert history("page:h1") == [sent.data]


@pytest.mark.django_db(transaction=True)
async def test_async_twin_and_remove(broker: str) -> None:
    await publish_html(
        pages("h2"), "update", "banner", template="banner.html", context={"text": "hi"}
    )
    sent = await publish_html(pages("h2").html, "remove", "banner")
    assert sent.data == {"action": "remove", "target": "banner", "html": ""}
    stored = (await get_broker().history("page:h2", 0)).messages
    assert [m.data["action"] for m in stored] == ["update", "remove"]


def test_a_fragment_with_inline_script_is_refused_naming_the_template() -> None:
    with pytest.raises(UnsafeFragment, match=r"^Template 'unsafe_item.html' rendered an event-"):
        publish_html_sync(pages("h3"), "append", "items", template="unsafe_item.html", context={})
    assert history("page:h3") == []


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("explode", "items"), {"template": "banner.html"}, ValueError, "Unknown live-HTML action"),
        (("append", "two words"), {"template": "banner.html"}, ValueError, "element id"),
        (("append", ""), {"template": "banner.html"}, ValueError, "element id"),
        (("remove", "items"), {"template": "banner.html"}, ValueError, "renders no template"),
        (("append", "items"), {}, ValueError, "needs template="),
    ],
)
def test_bad_arguments_are_refused_before_rendering(
    args: tuple[str, str], kwargs: dict[str, str], error: type[Exception], match: str
) -> None:
    before = renders["banner"]
    with pytest.raises(error, match=match):
        publish_html_sync(pages("h4"), *args, **kwargs)
    assert renders["banner"] == before
    assert history("page:h4") == []


def test_the_channel_must_have_one_live_html_topic() -> None:
    with pytest.raises(LookupError, match=r"'live:x' needs exactly one live-HTML topic.*none"):
        publish_html_sync(live("x"), "remove", "a")
    with pytest.raises(LookupError, match=r"several \(a, b\)"):
        publish_html_sync(two_html("x"), "remove", "a")
    with pytest.raises(LookupError, match="'logs' of channel 'live:x' is not a live-HTML topic"):
        publish_html_sync(live("x").logs, "remove", "a")
    publish_html_sync(two_html("x").b, "remove", "a")
    assert get_broker().history_sync("two-html:x", 0).messages[0].topic == "b"


def test_a_plain_publish_on_a_live_html_topic_is_checked_too() -> None:
    with pytest.raises(pydantic.ValidationError, match="event-handler attribute 'onclick'"):
        publish_sync(pages("h5").html({"action": "append", "target": "x", "html": "<p onclick=x>"}))
    with pytest.raises(pydantic.ValidationError, match="action"):
        publish_sync(pages("h5").html({"action": "explode", "target": "x", "html": ""}))
    assert history("page:h5") == []


@pytest.mark.django_db
def test_dom_id() -> None:
    from tests.broadcast_app.models import Board

    board = Board.objects.create(name="b")
    assert dom_id(board) == f"board-{board.pk}"
    assert dom_id(board, "card") == f"card-board-{board.pk}"
    with pytest.raises(ValueError, match="needs a saved Board"):
        dom_id(Board(name="unsaved"))


def test_the_per_viewer_render_endpoint_is_gone() -> None:
    assert Client().get("/v1/realtime/render").status_code == 404


async def read_events(res: StreamingResponse, count: int) -> list[dict[str, str]]:
    events = []
    while len(events) < count:
        raw = await res.read_data_event()
        fields: dict[str, str] = {}
        for line in raw.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        events.append(fields)
    return events


@pytest.mark.django_db(transaction=True)
async def test_sse_html_mode_sends_named_fragments_and_skips_the_rest(broker: str) -> None:
    ref = pages("sse1")
    token = get_subscription_token(ref, ["html", "logs"])
    async with StreamingResponse(
        get_asgi_application(), "/v1/realtime/sse", f"token={token['key']}&format=html"
    ) as res:
        assert res.status == 200
        assert res.headers["content-type"].startswith("text/event-stream")
        await publish(ref.logs("plain text: not for htmx"))
        first = await publish_html(
            ref, "append", "items", template="html_item.html", context={"n": 1, "text": "a"}
        )
        html = "<p>x\r\ny\rz</p>"  # SSE ends lines at CR too: all three become data lines
        second = await publish(ref.html({"action": "update", "target": "banner", "html": html}))
        events = await read_events(res, 2)
    assert events == [
        {"id": str(first.seq), "event": "items", "data": '<li id="item-1" class="item">a</li>\n'},
        {"id": str(second.seq), "event": "banner", "data": "<p>x\ny\nz</p>"},
    ]


@pytest.mark.django_db(transaction=True)
async def test_sse_html_mode_resumes_and_shares_the_token_checks(broker: str) -> None:
    ref = pages("sse2")
    sent = [
        await publish(ref.html({"action": "append", "target": "items", "html": f"<li>{i}</li>"}))
        for i in range(3)
    ]
    token = get_subscription_token(ref, ["html"])
    app = get_asgi_application()
    headers = [(b"last-event-id", str(sent[0].seq).encode())]
    async with StreamingResponse(
        app, "/v1/realtime/sse", f"token={token['key']}&format=html", headers
    ) as res:
        events = await read_events(res, 2)
    assert [e["data"] for e in events] == ["<li>1</li>", "<li>2</li>"]
    forged = f"{token['key'][:-3]}xyz"
    async with StreamingResponse(app, "/v1/realtime/sse", f"token={forged}&format=html") as res:
        assert res.status == 401
    async with StreamingResponse(
        app, "/v1/realtime/sse", f"token={token['key']}&format=xml"
    ) as res:
        assert res.status == 400
    # A token for another channel's topics never streams this one (the same verify_token).
    other = get_subscription_token(pages("sse3"), ["html"])
    async with StreamingResponse(
        app, "/v1/realtime/sse", f"token={other['key']}&format=html&topics=logs"
    ) as res:
        assert res.status == 403


runs: list[str] = []
client = mocked.Inngest(app_id="html-app", middleware=[realtime_middleware()], is_production=False)


@client.create_function(fn_id="html-fn", trigger=inngest.TriggerEvent(event="t/html"))
async def html_fn(ctx: inngest.Context) -> list[object]:
    runs.append("body")
    first = await publish_html(
        pages("run1"), "append", "items", template="html_item.html", context={"n": 1, "text": "a"}
    )
    await ctx.step.run("work", lambda: "done")
    second = await publish_html(pages("run1"), "remove", "item-1", step_id="removal")
    return [first.seq, first.data, second.seq]


@client.create_function(fn_id="html-sync-fn", trigger=inngest.TriggerEvent(event="t/html-sync"))
def html_sync_fn(ctx: inngest.ContextSync) -> list[object]:
    runs.append("body")
    first = publish_html_sync(
        pages("run2"), "append", "items", template="html_item.html", context={"n": 2, "text": "b"}
    )
    ctx.step.run("work", lambda: "done")
    return [first.seq, first.data]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fn", "event", "name"),
    [(html_fn, "t/html", "page:run1"), (html_sync_fn, "t/html-sync", "page:run2")],
)
def test_in_a_function_run_a_replay_renders_nothing_again(fn: Any, event: str, name: str) -> None:
    runs.clear()
    before = renders["item"]
    res = mocked.trigger(fn, inngest.Event(name=event), client)
    assert res.status is mocked.Status.COMPLETED, res.error
    assert len(runs) > 2  # the body was replayed
    assert renders["item"] == before + 1
    # The run's own lifecycle messages (kind "run", docs/run-status.md) are not fragments.
    stored = [m for m in get_broker().history_sync(name, 0).messages if m.kind == "data"]
    assert res.output[0] == stored[0].seq
    # On a replay the step's result stands for the message: its action and target, no html.
    assert res.output[1] == {"action": "append", "target": "items"}
    assert [m.data["action"] for m in stored] == ["append", "remove"][: len(stored)]
    assert len(stored) == (2 if fn is html_fn else 1)

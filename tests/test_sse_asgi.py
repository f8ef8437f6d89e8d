"""The SSE endpoint served in front of Django (``routing.http_application``,
``sse_application.py``): the same answers as the view (``views.sse``) for every request,
and under Daphne an idle stream that holds no task of ours."""

from __future__ import annotations

import asyncio
import contextlib
import json
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client, override_settings

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.routing import http_application
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.asgi_client import StreamingResponse
from tests.asgi_servers import start_uvicorn
from tests.channels import live
from tests.conftest import post_publish, start_server
from tests.helpers import realtime_settings
from tests.keys import refused_keys
from tests.test_sse_direct import ENDPOINTS, Events, hub_state, key, sse_url

pytestmark = pytest.mark.django_db(transaction=True)

APP = "http://app.example:5173"
VIEW, ASGI = ENDPOINTS["view"], ENDPOINTS["asgi"]


class Answer:
    """A whole response of an ASGI application to one request."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: Any,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> Answer:
    """Send one request to ``app`` and read its response to the end."""
    scope = StreamingResponse(app, path, query).scope
    scope["method"] = method
    scope["headers"] = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if "host" not in (headers or {}):
        scope["headers"].append((b"host", b"testserver"))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "http.request", "body": b"", "more_body": False})
    answer, done = Answer(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            answer.body += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()
                await inbox.put({"type": "http.disconnect"})

    await asyncio.wait_for(app(scope, inbox.get, send), 10)
    assert done.is_set()
    return answer


@pytest.fixture
def app() -> Any:
    return http_application(get_asgi_application())


async def both(app: Any, query: str = "", headers: dict[str, str] | None = None) -> Answer:
    """The view's and the ASGI path's answers, which must be the same; the ASGI one."""
    view = await call(app, VIEW, query, headers)
    ours = await call(app, ASGI, query, headers)
    assert (ours.status, ours.json) == (view.status, view.json)
    assert ours.headers["content-type"] == view.headers["content-type"] == "application/json"
    assert cors(ours) == cors(view)
    return ours


def cors(answer: Answer) -> tuple[str | None, bool]:
    """Its CORS headers (Django's middleware may add to ``Vary``: ``Cookie``)."""
    vary = answer.headers.get("vary", "")
    return answer.headers.get("access-control-allow-origin"), "Origin" in vary


def forged_and_others(name: str) -> dict[str, str]:
    keys = refused_keys(types.SimpleNamespace(url="http://testserver"), name)  # type: ignore[arg-type]
    return {kind: token["key"] for kind, token in keys.items()}


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no token", 400, 4400),
        ("forged", 401, 4401),
        ("expired", 410, 4410),
        ("wrong-scope", 403, 4403),
        ("bad format", 400, None),
        ("bad since", 400, 4400),
        ("bad last-event-id", 400, 4400),
        ("topic outside the token", 403, 4403),
        ("bad bearer", 400, 4400),
    ],
)
async def test_every_refusal_is_the_views(app: Any, case: str, status: int, code: int) -> None:
    name = "live:asgi-refusals"
    keys = forged_and_others(name)
    good = key(name, topics=["logs"])
    query, headers = {
        "no token": ("", {}),
        "forged": (f"token={keys['forged']}", {}),
        "expired": (f"token={keys['expired']}", {}),
        "wrong-scope": (f"token={keys['wrong-scope']}", {}),
        "bad format": (f"token={good}&format=xml", {}),
        "bad since": (f"token={good}&since=-3", {}),
        "bad last-event-id": (f"token={good}", {"Last-Event-ID": "x1"}),
        "topic outside the token": (f"token={good}&topics=votes", {}),
        "bad bearer": ("", {"Authorization": "Basic abc"}),
    }[case]
    answer = await both(app, query, headers)
    assert answer.status == status
    assert answer.json["error"]
    assert answer.json.get("code") == code


async def test_an_unlisted_origin_is_refused_and_a_listed_one_gets_cors(app: Any) -> None:
    with realtime_settings(ALLOWED_ORIGINS=[APP]):
        refused = await both(app, "token=x", {"Origin": "https://evil.example"})
        listed = await both(app, "token=forged:abc:def", {"Origin": APP})
        same_site = await both(app, "token=x", {"Origin": "http://testserver"})
        async with StreamingResponse(
            app,
            ASGI,
            f"token={key('live:asgi-cors', topics=['logs'])}",
            [(b"origin", APP.encode())],
        ) as stream:
            assert stream.status == 200
            assert stream.headers["access-control-allow-origin"] == APP
            assert stream.headers["vary"] == "Origin"
    assert refused.status == 403 and "ALLOWED_ORIGINS" in refused.json["error"]
    assert "access-control-allow-origin" not in refused.headers
    assert listed.status == 401 and listed.headers["access-control-allow-origin"] == APP
    assert same_site.status == 400 and "access-control-allow-origin" not in same_site.headers


async def test_a_host_not_allowed_and_other_methods_go_to_django(app: Any) -> None:
    with override_settings(ALLOWED_HOSTS=["site.example"]):
        bad_host = await call(app, ASGI, "token=x", {"host": "evil.example"})
    preflight = await call(
        app,
        ASGI,
        "",
        {"Origin": "http://testserver", "Access-Control-Request-Method": "GET"},
        "OPTIONS",
    )
    head = await call(app, ASGI, "", {}, "HEAD")
    assert bad_host.status == 400 and b"Bad Request" in bad_host.body
    assert preflight.status == 204
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert head.status == 405


async def read_stream(app: Any, path: str, query: str, headers: Any = (), count: int = 1) -> Any:
    """The stream's headers and its first ``count`` data events (opening included)."""
    async with StreamingResponse(app, path, query, list(headers)) as res:
        assert res.status == 200, res.buffer
        opening = [await res.read_event()]
        events = [await res.read_data_event() for _ in range(count)]
    return res.headers, opening + events


async def test_a_stream_is_the_views_byte_for_byte(app: Any) -> None:
    """Headers, opening, resumed events (``Last-Event-ID`` over ``since``), html format."""
    ref = live("asgi-bytes")
    sent = [await publish(ref.logs(f"m{i}")) for i in range(3)]
    good = key(ref.name, topics=["logs"])
    first = sent[0].seq
    cases = [
        (f"token={good}&since={first}", [], 2),
        (f"token={good}&since=0", [(b"last-event-id", str(first + 1).encode())], 1),
        ("", [(b"authorization", f"Bearer {good}".encode())], 0),
        (f"token={good}&since={first}&format=html", [], 0),
    ]
    for query, headers, count in cases:
        view = await read_stream(app, VIEW, query, headers, count)
        ours = await read_stream(app, ASGI, query, headers, count)
        for name in ("content-type", "cache-control", "x-accel-buffering"):
            assert ours[0][name] == view[0][name]
        assert ours[1] == view[1]
    assert ours[0]["content-type"] == "text/event-stream; charset=utf-8"
    resumed = (await read_stream(app, ASGI, cases[1][0], cases[1][1], 1))[1]
    assert f"id: {sent[2].seq}" in resumed[1]


async def test_live_events_then_the_disconnect_leaves_nothing(app: Any) -> None:
    ref = live("asgi-live")
    async with StreamingResponse(app, ASGI, f"token={key(ref.name, topics=['logs'])}") as res:
        await res.read_event()
        sent = await publish(ref.logs("now"))
        event = await res.read_data_event()
        assert sum(len(s) for s in get_hub().members.values()) == 1
    assert json.loads(event.split("data: ")[1])["id"] == sent.id
    assert res.task is not None and res.task.done()
    assert not get_hub().members


async def test_a_user_bound_token_needs_the_session_of_its_user(app: Any) -> None:
    user = await sync_to_async(User.objects.create_user)("sse-owner", password="pw")
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    bound = get_subscription_token(live("asgi-bound"), ["logs"], user=user)["key"]
    sent = await publish(live("asgi-bound").logs("mine"))
    anonymous = await both(app, f"token={bound}")
    with_session = await read_stream(
        app, ASGI, f"token={bound}&since=0", [(b"cookie", cookie.encode())]
    )
    assert anonymous.status == 403
    assert json.loads(with_session[1][1].split("data: ")[1])["id"] == sent.id


class GatedResponse(StreamingResponse):
    """A client that stops reading while ``gate`` is clear (its ``send`` waits); a server
    reports the disconnect once the response has ended, as ASGI servers do."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gate = asyncio.Event()
        self.gate.set()
        self.ended = asyncio.Event()

    async def _send(self, message: dict[str, Any]) -> None:
        await self.gate.wait()
        await super()._send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.ended.set()
            await self._inbox.put({"type": "http.disconnect"})


@pytest.mark.parametrize("path", [VIEW, ASGI])
async def test_a_slow_client_gets_the_close_event_and_the_stream_ends(app: Any, path: str) -> None:
    ref = live(f"asgi-slow-{path.count('/')}")
    with realtime_settings(SUBSCRIBER_QUEUE_SIZE=3):
        res = GatedResponse(app, path, f"token={key(ref.name, topics=['logs'])}")
        async with res:
            await res.read_event()
            res.gate.clear()
            for i in range(6):
                await publish(ref.logs(f"m{i}"))
            for _ in range(200):
                subscribers = [s for g in get_hub().members.values() for s in g]
                if subscribers and subscribers[0].closed_reason == "slow":
                    break
                await asyncio.sleep(0.01)
            res.gate.set()
            await asyncio.wait_for(res.ended.wait(), 10)
            # Whatever was under way before the buffer overflowed (none, or an event),
            # then the close event.
            events = [await res.read_event()]
            while not events[-1].startswith("event: close"):
                events.append(await res.read_event())
            await asyncio.wait_for(res.task, 10)  # type: ignore[arg-type]
    assert subscribers[0].closed_reason == "slow"
    assert events[-1] == 'event: close\ndata: {"kind": "close", "reason": "slow"}'
    assert not get_hub().members


async def task_count(server: Any) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{server.url}/test-tasks")).json()["tasks"])


@pytest.fixture(scope="module")
def pinging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    """Daphne, keep-alive pings every 0.2 s."""
    server = start_server(tmp_path_factory, env={"TEST_SSE_KEEPALIVE": "0.2"})
    yield server
    server.stop()


async def test_idle_streams_hold_no_task_of_ours_under_daphne(pinging_server: DaphneServer) -> None:
    """Written to directly, an idle stream's only task is Daphne's own for the connection
    (waiting for its disconnect); pings and live events still arrive, and every task ends
    with the streams. Django's view kept two more per stream, and its request."""
    server, name, count = pinging_server, "live:asgi-idle", 5
    before = await task_count(server)
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        streams: list[Events] = []
        tasks = []
        for opened in (1, count):
            while len(streams) < opened:
                res = await stack.enter_async_context(client.stream("GET", sse_url(server, name)))
                streams.append(Events(res))
            for _ in range(100):
                if (await hub_state(server))["direct"] == opened:
                    break
                await asyncio.sleep(0.05)
            tasks.append(await task_count(server))
        for stream in streams:  # the timer pings every stream, written directly
            assert [await stream.line(), await stream.line()] == ["retry: 2000", ": connected"]
            while (line := await stream.line()) != ": ping":
                assert line == ""
        seqs = await post_publish(server, name, ["after pings"])
        events = [(await stream.read(1))[0] for stream in streams]
        busy = await task_count(server)
    hub_tasks = tasks[0] - before - 1
    for _ in range(100):
        after = await task_count(server)
        if after - before <= hub_tasks:
            break
        await asyncio.sleep(0.05)
    assert tasks[1] - tasks[0] == count - 1  # one task per stream: Daphne's
    assert busy == tasks[1]  # the pumps the events woke have ended
    assert [e["id"] for e in events] == [str(seqs[0])] * count
    assert after - before <= hub_tasks  # every stream's tasks ended


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = start_uvicorn(tmp_path_factory)
    yield server
    server.stop()


async def test_under_uvicorn_a_stream_delivers_and_ends_with_its_client(
    uvicorn_server: Any,
) -> None:
    """A stream delivers, and leaves no subscriber and no task once its client goes.
    (A first stream warms up what the broker keeps for the process, e.g. the channels
    broker's receive loop, so the count compares like with like.)"""
    server, name = uvicorn_server, "live:asgi-uvicorn"

    async def one_stream(text: str) -> tuple[dict[str, Any], list[int]]:
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream("GET", sse_url(server, name)) as res,
        ):
            stream = Events(res)
            assert [await stream.line(), await stream.line()] == ["retry: 2000", ": connected"]
            seqs = await post_publish(server, name, [text])
            return (await stream.read(1))[0], seqs

    async def settled(before: int | None) -> tuple[dict[str, Any], int]:
        for _ in range(100):
            state = await hub_state(server)  # type: ignore[arg-type]
            after = await task_count(server)
            if state["subscribers"] == 0 and (before is None or after <= before):
                break
            await asyncio.sleep(0.05)
        return state, after

    await one_stream("warm-up")
    _, before = await settled(None)
    event, seqs = await one_stream("under uvicorn")
    state, after = await settled(before)
    assert event["id"] == str(seqs[0])
    assert state == {"groups": 0, "subscribers": 0, "direct": 0, "through_send": 0}
    assert after <= before

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import ApplicationCommunicator, WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import path

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.routing import (
    realtime_route,
    websocket_application,
    websocket_urlpatterns,
)
from tests.asgi import application
from tests.channels import live, private
from tests.helpers import realtime_settings

pytestmark = pytest.mark.django_db(transaction=True)


def connect(query: str = "", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return WebsocketCommunicator(application, f"/v1/realtime/connect{query}", headers=headers)


async def recv(comm: Any) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout=5))


async def closed_with(comm: Any) -> int:
    message = await comm.receive_output(timeout=5)
    while message["type"] != "websocket.close":
        message = await comm.receive_output(timeout=5)
    return int(message["code"])


async def test_token_in_url_receives_envelopes() -> None:
    token = get_subscription_token(live("ws1"), topics=["logs"])
    comm = connect(f"?token={token['key']}")
    assert (await comm.connect())[0]
    sent = await publish(live("ws1").logs("hello"))
    await publish(live("ws1").votes({"id": "x", "likes": 1}))  # not subscribed
    await publish(live("ws1").logs("again"))
    assert await comm.receive_from(timeout=5) == sent.to_json()
    assert (await recv(comm))["data"] == "again"
    assert await comm.receive_nothing(0.1)
    await comm.disconnect()
    assert not get_hub().members  # no group left behind


async def test_sub_and_unsub_frames_multiplex() -> None:
    comm = connect()
    assert (await comm.connect())[0]
    for n in ("a", "b"):
        key = get_subscription_token(live(f"m{n}"))["key"]
        await comm.send_json_to({"kind": "sub", "data": key})
        ack = await recv(comm)
        assert ack == {"kind": "sub", "channel": f"live:m{n}", "topics": ["logs", "votes"]}
    await publish(live("ma").logs("to a"))
    await publish(live("mb").logs("to b"))
    assert [(await recv(comm))["channel"] for _ in range(2)] == ["live:ma", "live:mb"]
    await comm.send_json_to({"kind": "unsub", "channel": "live:ma"})
    await comm.send_json_to({"kind": "ping"})
    assert await recv(comm) == {"kind": "pong"}
    await publish(live("ma").logs("gone"))
    await publish(live("mb").logs("still"))
    assert (await recv(comm))["data"] == "still"
    await comm.disconnect()
    assert not get_hub().members


async def test_resume_since_and_gap_signal() -> None:
    sent = [await publish(live("r").logs(str(i))) for i in range(5)]
    key = get_subscription_token(live("r"))["key"]
    comm = connect(f"?token={key}&since={sent[2].seq}")
    assert (await comm.connect())[0]
    assert [(await recv(comm))["seq"] for _ in range(2)] == [sent[3].seq, sent[4].seq]
    await comm.disconnect()
    with realtime_settings(HISTORY_SIZE=2):
        sent = [await publish(live("g").logs(str(i))) for i in range(5)]
        comm = connect(f"?token={get_subscription_token(live('g'))['key']}&since=0")
        assert (await comm.connect())[0]
        gap = await recv(comm)
        assert gap == {
            "kind": "gap",
            "channel": "live:g",
            "recovered": False,
            "since": 0,
            "position": sent[4].seq,
        }
        assert [(await recv(comm))["seq"] for _ in range(2)] == [sent[3].seq, sent[4].seq]
        await comm.disconnect()


async def refused_with(query: str, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    """Connect where the server offers the ``websocket.http.response`` extension (uvicorn
    does); return the HTTP response the consumer answered the handshake with."""
    scope = {
        "type": "websocket",
        "path": "/v1/realtime/connect",
        "query_string": query.lstrip("?").encode(),
        "headers": headers or [],
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    comm = ApplicationCommunicator(application, scope)
    await comm.send_input({"type": "websocket.connect"})
    start = await comm.receive_output(5)
    body = await comm.receive_output(5)
    await comm.send_input({"type": "websocket.disconnect", "code": 1006})
    await comm.wait(5)
    assert (start["type"], body["type"]) == (
        "websocket.http.response.start",
        "websocket.http.response.body",
    )
    return start["status"], dict(start["headers"]), json.loads(body["body"])


REFUSED_QUERIES = [
    (lambda key: "?token=garbage", 4400),
    (lambda key: f"?token={key[:-3]}xyz", 4401),
    (lambda key: f"?token={key}&topics=votes", 4403),
    (lambda key: f"?token={key}&since=-1", 4400),
    (lambda key: f"?token={key}&since=abc", 4400),
]


@pytest.mark.parametrize(("make_query", "code"), REFUSED_QUERIES)
async def test_refused_tokens_refuse_the_handshake(make_query: Any, code: int) -> None:
    key = get_subscription_token(live("x"), topics=["logs"])["key"]
    connected, _ = await connect(make_query(key)).connect()
    assert not connected  # closed before accept: Daphne answers the handshake with 403
    status, headers, body = await refused_with(make_query(key))
    assert (status, headers[b"content-type"], body["code"]) == (401, b"application/json", code)
    assert body["error"]
    assert not get_hub().members


async def test_expired_token_refuses_the_handshake() -> None:
    key = get_subscription_token(live("x"))["key"]
    with realtime_settings(TOKEN_TTL=-1):
        assert not (await connect(f"?token={key}").connect())[0]
        status, _, body = await refused_with(f"?token={key}")
    assert (status, body["code"]) == (401, 4410)
    assert "expired" in body["error"]


async def test_key_in_an_authorization_header() -> None:
    key = get_subscription_token(live("hdr"), topics=["logs"])["key"]
    comm = connect(headers=[(b"authorization", f"Bearer {key}".encode())])
    assert (await comm.connect())[0]
    await publish(live("hdr").logs("via header"))
    assert (await recv(comm))["data"] == "via header"
    await comm.disconnect()
    forged = [(b"authorization", f"Bearer {key[:-3]}xyz".encode())]
    assert not (await connect(headers=forged).connect())[0]
    assert (await refused_with("", forged))[2]["code"] == 4401
    # Another scheme is not a key: the socket opens for ``sub`` frames.
    comm = connect(headers=[(b"authorization", b"Basic dXNlcjpwdw==")])
    assert (await comm.connect())[0]
    await comm.disconnect()


def cookie_for(user: User) -> list[tuple[bytes, bytes]]:
    """The handshake headers of a browser logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def test_another_users_token_is_refused_and_own_accepted() -> None:
    ann = await User.objects.acreate(username="ann")
    bob = await User.objects.acreate(username="bob")
    key = get_subscription_token(private("ann"), user=ann)["key"]
    bobs = await sync_to_async(cookie_for)(bob)
    assert not (await connect(f"?token={key}", bobs).connect())[0]
    assert (await refused_with(f"?token={key}", bobs))[2]["code"] == 4403
    assert not (await connect(f"?token={key}").connect())[0]  # anonymous
    comm = connect(f"?token={key}", await sync_to_async(cookie_for)(ann))
    assert (await comm.connect())[0]
    await publish(private("ann").logs("for ann"))
    assert (await recv(comm))["data"] == "for ann"
    await comm.disconnect()


async def test_a_sub_frame_checks_the_sessions_user() -> None:
    """The user is read from the session cookie when a token first needs it, here a
    ``sub`` frame's, and kept for the next."""
    ann = await User.objects.acreate(username="ann")
    bob = await User.objects.acreate(username="bob")
    anns = get_subscription_token(private("ann"), user=ann)["key"]
    bobs = get_subscription_token(private("bob"), user=bob)["key"]
    comm = connect("", await sync_to_async(cookie_for)(ann))
    assert (await comm.connect())[0]
    await comm.send_json_to({"kind": "sub", "data": bobs})
    assert (await recv(comm))["code"] == 4403
    await comm.send_json_to({"kind": "sub", "data": anns})
    assert (await recv(comm))["channel"] == "private:ann"
    await publish(private("ann").logs("for ann"))
    assert (await recv(comm))["data"] == "for ann"
    await comm.disconnect()


class WhoAmI(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=str(self.scope["user"]))


async def test_your_routes_and_your_own_stack_keep_the_session_user() -> None:
    """``websocket_application(routes)`` puts your routes behind ``AuthMiddlewareStack``;
    ``websocket_urlpatterns`` in a stack of your own read the user it put in the scope."""
    ann = await User.objects.acreate(username="ann")
    cookie = await sync_to_async(cookie_for)(ann)
    mounted = websocket_application([path("ws/whoami", WhoAmI.as_asgi())])
    comm = WebsocketCommunicator(mounted, "/ws/whoami", headers=cookie)
    assert (await comm.connect())[0]
    assert await comm.receive_from(timeout=5) == "ann"
    await comm.disconnect()
    own = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    key = get_subscription_token(private("ann"), user=ann)["key"]
    comm = WebsocketCommunicator(own, f"/v1/realtime/connect?token={key}", headers=cookie)
    assert (await comm.connect())[0]
    await publish(private("ann").logs("through your stack"))
    assert (await recv(comm))["data"] == "through your stack"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("scope", "realtime"),
    [
        ({"path": "/v1/realtime/connect"}, True),
        ({"path": "/app/v1/realtime/connect", "root_path": "/app"}, True),
        ({"path": "/v1/realtime/connect", "root_path": "/app"}, False),
        ({"path": "/ws/v1/realtime/connect", "path_remaining": "v1/realtime/connect"}, True),
        ({"path": "/v1/realtime/connect/x"}, False),
        ({"path": "/ws/chat"}, False),
    ],
)
def test_the_realtime_route_is_found_as_urlrouter_would(
    scope: dict[str, Any], realtime: bool
) -> None:
    assert realtime_route(scope) is realtime


async def test_refused_sub_frame_answers_error_and_keeps_socket() -> None:
    comm = connect()
    assert (await comm.connect())[0]
    await comm.send_json_to({"kind": "sub", "data": "forged:token:here"})
    error = await recv(comm)
    assert error["kind"] == "error" and error["code"] == 4401
    await comm.send_json_to({"kind": "sub", "data": get_subscription_token(live("k"))["key"]})
    assert (await recv(comm))["kind"] == "sub"
    await publish(live("k").logs("ok"))
    assert (await recv(comm))["data"] == "ok"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": "not json"}, 4400),
        ({"text_data": "[1, 2]"}, 4400),
        ({"text_data": '{"no": "kind"}'}, 4400),
        ({"text_data": '{"kind": "explode"}'}, 4400),
        ({"bytes_data": b"\x00\x01"}, 4400),
        ({"text_data": json.dumps({"kind": "sub", "data": "x" * 70_000})}, 1009),
    ],
)
async def test_malformed_and_oversize_frames_close(frame: dict[str, Any], code: int) -> None:
    comm = connect()
    assert (await comm.connect())[0]
    await comm.send_to(**frame)
    assert await closed_with(comm) == code


async def test_too_many_subscriptions() -> None:
    with realtime_settings(MAX_SUBSCRIPTIONS=1):
        comm = connect(f"?token={get_subscription_token(live('t1'))['key']}")
        assert (await comm.connect())[0]
        await comm.send_json_to({"kind": "sub", "data": get_subscription_token(live("t2"))["key"]})
        assert (await recv(comm))["code"] == 4429
        await comm.disconnect()


async def test_keepalive_pings() -> None:
    with realtime_settings(WS_PING_INTERVAL=0.05):
        comm = connect()
        assert (await comm.connect())[0]
        assert await recv(comm) == {"kind": "ping"}
        await comm.disconnect()


@pytest.mark.parametrize(
    ("host", "origin", "listed", "ok"),
    [
        (b"good.example", None, (), True),  # not a browser
        (b"good.example", b"https://good.example", (), True),  # same origin
        (b"good.example:8443", b"https://good.example:8443", (), True),
        (b"good.example", b"https://evil.example", (), False),
        (b"good.example", b"https://good.example:8443", (), False),  # another port
        (b"evil.example", b"https://evil.example", (), False),  # a host not in ALLOWED_HOSTS
        (b"good.example", b"https://app.example", ("https://app.example",), True),
        (b"good.example", b"https://app.example:443", ("https://APP.example",), True),
        (b"good.example", b"http://app.example", ("https://app.example",), False),
        (b"good.example", b"https://other.example", ("https://app.example",), False),
        (b"good.example", b"https://other.example", ("*",), True),
        (b"good.example", b"null", (), False),
    ],
)
async def test_origin_validation(
    host: bytes, origin: bytes | None, listed: tuple[str, ...], ok: bool
) -> None:
    key = get_subscription_token(live("o"))["key"]
    headers = [(b"host", host), *([(b"origin", origin)] if origin else [])]
    with (
        override_settings(ALLOWED_HOSTS=["good.example"]),
        realtime_settings(ALLOWED_ORIGINS=list(listed)),
    ):
        comm = connect(f"?token={key}", headers)
        connected, _ = await comm.connect()
        if connected:
            await comm.disconnect()
    assert connected is ok


async def test_forwarded_host_counts_with_use_x_forwarded_host() -> None:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"x-forwarded-host", b"good.example"),
        (b"origin", b"https://good.example"),
    ]
    with override_settings(ALLOWED_HOSTS=["good.example", "127.0.0.1"]):
        assert not (await connect(headers=headers).connect())[0]
        with override_settings(USE_X_FORWARDED_HOST=True):
            comm = connect(headers=headers)
            assert (await comm.connect())[0]
            await comm.disconnect()


async def test_slow_client_is_closed_4408() -> None:
    with realtime_settings(SUBSCRIBER_QUEUE_SIZE=3):
        key = get_subscription_token(live("slow"), topics=["logs"])["key"]
        comm = connect(f"?token={key}")
        assert (await comm.connect())[0]
        group = get_hub().broker.group("live:slow", "logs")
        # A burst the connection's sender cannot take before its buffer is full (what
        # the hub's reader does when a publisher outpaces a connection).
        for seq in range(1, 11):
            get_hub().deliver(group, seq, seq - 1, "{}")
        assert await closed_with(comm) == 4408
        await comm.disconnect()
    assert not get_hub().members

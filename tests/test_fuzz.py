"""Property-based tests of every input from outside: frames, tokens, SSE queries, tags."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core import signing
from django.template import Context, Template, TemplateSyntaxError
from django.test import AsyncClient, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.tokens import SALT, TokenError, verify_token
from tests.asgi import application
from tests.channels import live

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
frames = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["sub", "unsub", "ping", "pong", "x", ""])},
        optional={
            "data": json_values,
            "since": json_values,
            "topics": json_values,
            "id": json_values,
        },
    ).map(json.dumps),
    st.text(max_size=200),
)
ALLOWED_CLOSE = {4400, 4401, 4403, 4410, 1009}


@pytest.mark.django_db(transaction=True)
@FUZZ
@given(sequence=st.lists(st.one_of(frames, st.binary(max_size=64)), min_size=1, max_size=5))
def test_websocket_frames_never_break_the_server(sequence: list[Any]) -> None:
    async def run() -> None:
        comm = WebsocketCommunicator(application, "/v1/realtime/connect")
        assert (await comm.connect())[0]
        for frame in sequence:
            key = "bytes" if isinstance(frame, bytes) else "text"
            await comm.send_input({"type": "websocket.receive", key: frame})
        # Whatever was sent, a real publish reaches nobody who was not granted it.
        await publish(live("fuzz").logs("secret"))
        closed = False
        while not closed and not await comm.receive_nothing(0.02):
            out = await comm.receive_output(1)
            if out["type"] == "websocket.close":
                assert out["code"] in ALLOWED_CLOSE, out
                closed = True
                continue
            reply = json.loads(out["text"])
            assert reply["kind"] in {"pong", "error", "ping"}, reply
            if reply["kind"] == "error":
                assert reply["code"] in ALLOWED_CLOSE | {4429}
        await comm.disconnect()
        assert not get_hub().members

    asyncio.run(run())


@FUZZ
@given(
    key=st.one_of(
        st.text(max_size=300), st.binary(max_size=100).map(lambda b: b.hex()), json_values
    )
)
def test_random_tokens_are_refused_cleanly(key: Any) -> None:
    with pytest.raises(TokenError):
        verify_token(key)


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=400),
    char=st.characters(codec="ascii", categories=["L", "N", "P"]),
)
def test_tampered_tokens_never_verify(position: int, char: str) -> None:
    key = get_subscription_token(live("t"), topics=["logs"])["key"]
    position %= len(key)
    tampered = key[:position] + char + key[position + 1 :]
    if tampered == key:
        return
    try:
        scope = verify_token(tampered)
    except TokenError:
        return
    # base64 padding bits can make two encodings decode alike; the scope must be the same.
    assert (scope.channel, scope.topics) == ("live:t", ("logs",))


@FUZZ
@given(channel=st.text(min_size=1, max_size=40), topics=st.lists(st.text(max_size=10), max_size=3))
def test_swapped_scope_is_forged(channel: str, topics: list[str]) -> None:
    # Someone who re-signs a payload without the secret cannot pass verification.
    forged = signing.dumps({"c": channel, "t": topics, "u": None}, salt=SALT, key="not-secret")
    with pytest.raises(TokenError):
        verify_token(forged)


@pytest.mark.django_db
@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["token", "since", "topics", "x"]), st.text(max_size=40), max_size=4
    ),
    last_event_id=st.one_of(st.none(), st.text(max_size=30)),
)
def test_sse_queries_answer_documented_statuses(
    query: dict[str, str], last_event_id: str | None
) -> None:
    async def run() -> None:
        headers = {}
        if last_event_id is not None and last_event_id.isprintable() and last_event_id.isascii():
            headers["Last-Event-ID"] = last_event_id
        res = await AsyncClient().get("/v1/realtime/sse", query, headers=headers)
        assert res.status_code in {400, 401, 403, 410}, res.status_code
        assert "error" in json.loads(res.content)

    asyncio.run(run())


@FUZZ
@given(
    channel=st.text(max_size=40),
    topics=st.one_of(st.none(), st.text(max_size=20)),
    limit=st.integers(min_value=-5, max_value=500),
)
def test_template_tag_arguments(channel: str, topics: str | None, limit: int) -> None:
    request = RequestFactory().get("/")
    request.user = None  # type: ignore[assignment]
    template = Template(
        "{% load inngest_realtime %}{% realtime_feed ch tp limit=lim %}"
        "{% realtime_value ch 'logs' %}"
    )
    try:
        html = template.render(
            Context({"request": request, "ch": channel, "tp": topics, "lim": limit})
        )
    except TemplateSyntaxError:  # pragma: no cover - only malformed template source
        raise
    assert "<script>" not in html.replace('<script type="application/json">', "")
    assert channel == "" or "<!--" in html or "data-inngest-realtime" in html

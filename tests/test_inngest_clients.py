"""Inngest's official JavaScript clients against a real Daphne: inngest@4 (`inngest/realtime`)
and @inngest/realtime 0.4.7, subscribing with our tokens and with tokens v4's
``getSubscriptionToken`` mints from our ``POST /v1/realtime/token``."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
import websockets

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.asgi_servers import start_uvicorn
from tests.conftest import post_publish, start_server
from tests.keys import refused_keys, token_for, unique
from tests.node_runner import CLIENTS, NodeClient, needs_node

pytestmark = needs_node

SIGNING_KEY = f"signkey-test-{secrets.token_hex(32)}"
FALLBACK_KEY = f"signkey-test-{secrets.token_hex(32)}"


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> Iterator[DaphneServer]:
    """Daphne whose Inngest signing key (read from the environment) is ``SIGNING_KEY``."""
    srv = start_server(
        tmp_path_factory,
        env={
            "INNGEST_SIGNING_KEY": SIGNING_KEY,
            "INNGEST_SIGNING_KEY_FALLBACK": FALLBACK_KEY,
            "INNGEST_DEV": "",
        },
    )
    yield srv
    srv.stop()


@pytest.mark.parametrize("client", CLIENTS)
async def test_subscribe_with_a_server_minted_token(server: DaphneServer, client: str) -> None:
    name = unique(f"srv-{client}")
    token = token_for(server, name, topics=["logs", "votes"])
    async with NodeClient(client, server.url, token=token, count=2) as node:
        assert await node.line() == {"ready": True}
        await post_publish(server, name, ["hello"])
        await post_publish(server, name, [{"id": "p", "likes": 2}], topic="votes")
        got = [await node.line(), await node.line()]
    assert [(m["kind"], m["topic"], m["data"], m["createdAt"]) for m in got] == [
        ("data", "logs", "hello", True),
        ("data", "votes", {"id": "p", "likes": 2}, True),
    ]
    assert {m["channel"] for m in got} == {name}


@pytest.mark.parametrize("client", CLIENTS)
async def test_subscribe_with_a_token_from_v4_get_subscription_token(
    keyed: DaphneServer, client: str
) -> None:
    name = unique(f"mint-{client}")
    env = {"INNGEST_SIGNING_KEY": SIGNING_KEY}
    mint = {"channel": name, "topics": ["logs"]}
    async with NodeClient(client, keyed.url, mint=mint, count=1, env=env) as node:
        minted = await node.line()
        assert minted == {
            "minted": {"channel": name, "topics": ["logs"], "apiBaseUrl": keyed.url}
        }, await node.stderr()
        assert await node.line() == {"ready": True}
        await post_publish(keyed, name, ["minted by v4"])
        message = await node.line()
    assert (message["channel"], message["topic"], message["data"]) == (name, "logs", "minted by v4")


async def test_v4_mints_with_the_fallback_key_after_a_401(keyed: DaphneServer) -> None:
    env = {
        "INNGEST_SIGNING_KEY": f"signkey-test-{secrets.token_hex(32)}",
        "INNGEST_SIGNING_KEY_FALLBACK": FALLBACK_KEY,
    }
    mint = {"channel": unique("fallback"), "topics": ["logs"]}
    async with NodeClient("v4", keyed.url, mint=mint, count=0, env=env) as node:
        assert "minted" in await node.line()
        assert await node.line() == {"ready": True}


async def test_v4_mint_with_a_wrong_signing_key_is_refused(keyed: DaphneServer) -> None:
    env = {"INNGEST_SIGNING_KEY": f"signkey-test-{secrets.token_hex(32)}"}
    mint = {"channel": unique("wrongkey"), "topics": ["logs"]}
    async with NodeClient("v4", keyed.url, mint=mint, env=env) as node:
        line = await node.line()
    assert "401" in line["mintError"] and "Not authenticated" in line["mintError"]


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def any_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
) -> Iterator[DaphneServer]:
    """The test server under Daphne (refuses with 403) and uvicorn (401 and a JSON body)."""
    if request.param == "daphne":
        yield request.getfixturevalue("server")
        return
    srv = start_uvicorn(tmp_path_factory)
    yield srv
    srv.stop()


@pytest.mark.parametrize("case", ["forged", "expired", "wrong-scope"])
@pytest.mark.parametrize("client", CLIENTS)
async def test_refused_keys_reject_subscribe(
    any_server: DaphneServer, client: str, case: str
) -> None:
    token = refused_keys(any_server, unique("refused"))[case]
    async with NodeClient(client, any_server.url, token=token, count=1) as node:
        outcome = await node.line()
        rest = await node.lines_until_exit()
    # Refused before the upgrade: subscribe() rejects (never resolves, then ends silently).
    assert "error" in outcome, (outcome, rest)
    assert rest == []
    where = f"{type(any_server).__name__} {client} {case}"
    print(f"{where}: subscribe() rejected after {node.elapsed:.2f} s: {outcome['error']}")


async def test_refused_handshake_is_an_http_error_under_daphne(server: DaphneServer) -> None:
    """Daphne cannot answer 401 to a WebSocket handshake: it answers 403."""
    token = refused_keys(server, unique("raw"))["expired"]
    url = f"{server.url}/v1/realtime/connect"
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        res = await http.get(url, params={"token": token["key"]}, headers=headers)
    assert res.status_code == 403


@pytest.mark.parametrize("client", CLIENTS)
async def test_official_clients_get_the_data_around_a_stream(
    server: DaphneServer, client: str
) -> None:
    """Upstream bug: both clients throw on ``datastream-start`` (their stream object is used
    before it is created), an uncaught exception that ends a Node process unless it is
    handled; they deliver no stream frames. Data messages before and after still arrive."""
    name = unique(f"stream-{client}")
    token = token_for(server, name, topics=["logs"])
    async with NodeClient(client, server.url, token=token, count=2) as node:
        assert await node.line() == {"ready": True}
        async with httpx.AsyncClient(timeout=30) as http:
            body = {"before": "before", "chunks": ["a", "b"], "after": "after"}
            res = await http.post(f"{server.url}/test-stream/{name}/logs", json=body)
            res.raise_for_status()
        lines = [await node.line()]
        while "kind" not in lines[-1] or lines[-1]["data"] != "after":
            lines.append(await node.line())
        lines += await node.lines_until_exit()
    messages = [line for line in lines if "kind" in line]
    errors = [line["uncaught"] for line in lines if "uncaught" in line]
    assert [(m["kind"], m["data"]) for m in messages] == [("data", "before"), ("data", "after")]
    assert errors and all("before initialization" in e for e in errors), errors


async def test_python_sdk_get_subscription_token_mints_from_our_endpoint(
    keyed: DaphneServer,
) -> None:
    """inngest-py's ``get_subscription_token`` (its hash without the key's prefix)."""
    import inngest
    from inngest.experimental.realtime import get_subscription_token as inngest_py_token

    name = unique("py-sdk")
    client = inngest.Inngest(
        app_id="py-sdk", is_production=True, signing_key=SIGNING_KEY, api_base_url=keyed.url
    )
    token = await inngest_py_token(client, name, ["logs"])
    url = f"{keyed.ws_url}/v1/realtime/connect?token={token['key']}"
    async with websockets.connect(url) as ws:
        await post_publish(keyed, name, ["via inngest-py's token"])
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert (frame["channel"], frame["data"]) == (name, "via inngest-py's token")
    wrong = inngest.Inngest(
        app_id="py-sdk",
        is_production=True,
        signing_key=f"signkey-test-{secrets.token_hex(32)}",
        api_base_url=keyed.url,
    )
    # inngest-py reports HTTP errors as a bare Exception.
    with pytest.raises(Exception, match=r"HTTP error: 401 .*Not authenticated"):
        await inngest_py_token(wrong, name, ["logs"])

"""The double's parts on their own: time strings, signing (checked against the SDK's own
code), registration rules, the event and realtime endpoints, lifecycle. Expressions are in
``test_expressions.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest
from inngest._internal import net, server_lib, transforms
from inngest.experimental.realtime import publish as sdk_publish

from django_inngest_realtime.testing.inngest_server import InngestServerDouble, signing
from django_inngest_realtime.testing.inngest_server.timing import parse_duration, ulid

KEY = "signkey-test-" + "00112233445566778899aabbccddeeff" * 2


@pytest.fixture
def inngest_server_options() -> dict[str, Any]:
    return {}  # any free port: these tests need no app


def test_time_strings_and_ids() -> None:
    assert parse_duration("1m30s") == 90
    assert parse_duration("300ms") == pytest.approx(0.3)
    assert parse_duration("1w") == 7 * 86400
    with pytest.raises(ValueError):
        parse_duration("soon")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", ulid())


def test_signing_matches_the_sdk() -> None:
    body = signing.canonical_json({"b": 1.0, "a": ["é", 2]})
    headers = {"x-inngest-signature": signing.sign(body, KEY)}
    cloud = server_lib.ServerKind.CLOUD
    ok = net.validate_request_sig(
        body=body, headers=headers, mode=cloud, signing_key=KEY, signing_key_fallback=None
    )
    assert ok == KEY
    other = "signkey-test-" + "ff" * 32
    refused = net.validate_request_sig(
        body=body, headers=headers, mode=cloud, signing_key=other, signing_key_fallback=None
    )
    assert isinstance(refused, Exception)
    response_sig = net.sign_response(b'{"ok": true}', KEY)
    assert isinstance(response_sig, str)
    assert signing.verify_response(b'{"ok": true}', response_sig, [KEY]) is None
    assert signing.verify_response(b'{"ok": false}', response_sig, [KEY]) is not None
    assert signing.bearer_ok(f"Bearer {transforms.hash_signing_key(KEY)}", [KEY])
    assert not signing.bearer_ok(f"Bearer {transforms.hash_signing_key(other)}", [KEY])


def _registration(**extra: Any) -> dict[str, Any]:
    url = "http://127.0.0.1:1/api/inngest"
    return {
        "url": url,
        "appname": "unit",
        "functions": [
            {
                "id": "unit-fn",
                "name": "fn",
                "triggers": [{"event": "unit/*", "expression": "event.data.go == true"}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {"type": "http", "url": f"{url}?fnId=unit-fn&stepId=step"},
                    }
                },
                **extra,
            }
        ],
    }


def test_registration_refuses_what_it_cannot_honour(inngest_server: InngestServerDouble) -> None:
    register = f"{inngest_server.url}/fn/register"
    res = httpx.post(register, json=_registration(debounce={"period": "5s"}))
    assert res.status_code == 400
    assert "debounce" in res.json()["error"]
    res = httpx.post(register, json=_registration(concurrency=[{"limit": 1}]))
    assert res.status_code == 200
    fn = inngest_server.functions["unit-fn"]
    assert fn.ignored_config == ("concurrency",)
    assert fn.triggers[0].matches({"name": "unit/x", "data": {"go": True}})
    assert not fn.triggers[0].matches({"name": "unit/x", "data": {"go": False}})
    assert not fn.triggers[0].matches({"name": "other/x", "data": {"go": True}})
    inngest_server.configure(allow_unsupported_config=True)
    assert httpx.post(register, json=_registration(debounce={"period": "5s"})).status_code == 200


def test_event_api_shapes(inngest_server: InngestServerDouble) -> None:
    one = httpx.post(f"{inngest_server.url}/e/any-key", json={"name": "unit/one"}).json()
    assert one["status"] == 200 and len(one["ids"]) == 1

    def chunks() -> Iterator[bytes]:  # a chunked request body
        yield b'[{"name": "unit/two", "data": {"x": 1}},'
        yield b' {"name": "unit/three", "ts": 5}]'

    many = httpx.post(f"{inngest_server.url}/e/any-key", content=chunks()).json()
    assert len(many["ids"]) == 2
    bad = httpx.post(f"{inngest_server.url}/e/any-key", json={"data": {}})
    assert bad.status_code == 400
    events = inngest_server.events
    assert [e["name"] for e in events] == ["unit/one", "unit/two", "unit/three"]
    assert events[2]["ts"] == 5 and events[1]["data"] == {"x": 1} and events[0]["data"] == {}
    assert httpx.get(f"{inngest_server.url}/nope").status_code == 404


async def test_realtime_publish_endpoint(inngest_server: InngestServerDouble) -> None:
    client = inngest.Inngest(app_id="unit", is_production=False)  # URLs from the fixture's env
    await sdk_publish(client, "chan:1", "logs", {"line": "hello"})
    (message,) = inngest_server.published
    assert (message.channel, message.topic, message.data) == ("chan:1", "logs", {"line": "hello"})
    inngest_server.refuse_publish(500, "broken")
    with pytest.raises(Exception, match="500"):
        await sdk_publish(client, "chan:1", "logs", {"line": "again"})
    assert [m.accepted for m in inngest_server.published] == [True, False]
    inngest_server.accept_publish()
    await sdk_publish(client, "chan:1", "logs", {"line": "third"})
    assert inngest_server.published[-1].accepted


def test_threaded_context_manager_and_environment() -> None:
    with InngestServerDouble(signing_key=KEY) as server:
        assert httpx.get(f"{server.url}/health").json()["ok"] is True
        env = server.environ()
        assert env["INNGEST_DEV"] == "0" and env["INNGEST_SIGNING_KEY"] == KEY
        assert env["INNGEST_BASE_URL"] == server.url
        assert server.server_kind == "cloud"
        # The API wants the hashed key.
        published = httpx.post(f"{server.url}/v1/realtime/publish?channel=c&topic=t", json=1)
        assert published.status_code == 401
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health")


async def test_async_start_and_stop() -> None:
    server = await InngestServerDouble().start_async()
    try:
        async with httpx.AsyncClient() as client:
            res = await client.post(f"{server.url}/e/k", json=[{"name": "unit/a"}])
        assert len(res.json()["ids"]) == 1
        assert server.send_event("unit/b") and len(server.events) == 2
        assert server.runs() == []
    finally:
        await server.stop_async()

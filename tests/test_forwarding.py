"""Forwarding to Inngest's hosted realtime (``FORWARD_TO_INNGEST``): what reaches a real HTTP
server standing where Inngest's API is, request by request, and byte by byte for streams."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import inngest
import pytest
from inngest.experimental import mocked

from django_inngest_realtime import channel, publish, publish_stream, realtime_middleware, topic
from django_inngest_realtime.envelope import Message
from django_inngest_realtime.forwarding import ForwardError, forward
from tests.helpers import realtime_settings

KEY = f"signkey-prod-{secrets.token_hex(32)}"
FALLBACK = f"signkey-prod-{secrets.token_hex(32)}"


def hashed(key: str) -> str:
    return hashlib.sha256(bytes.fromhex(key.split("-", 2)[2])).hexdigest()


class Recorder:
    """An HTTP server that records each request, its body read chunk by chunk as it comes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.chunks: list[bytes] = []  # the chunks of streamed bodies, as they arrive
        self.status = 200
        self.accept_only: str | None = None  # an Authorization value; others get 401
        self.changed = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = b""
                if self.headers.get("Transfer-Encoding") == "chunked":
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        chunk = self.rfile.read(size)
                        self.rfile.readline()
                        if not size:
                            break
                        body += chunk
                        with recorder.changed:
                            recorder.chunks.append(chunk)
                            recorder.changed.notify_all()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = urlsplit(self.path)
                with recorder.changed:
                    recorder.requests.append(
                        {
                            "path": parts.path,
                            "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                    recorder.changed.notify_all()
                refused = recorder.accept_only and (
                    self.headers.get("Authorization") != recorder.accept_only
                )
                status = 401 if refused else recorder.status
                answer = b'{"error":"Not authenticated"}' if status >= 400 else b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    async def wait_for(self, condition: Any) -> None:
        def wait() -> None:
            with self.changed:
                assert self.changed.wait_for(lambda: condition(self), 30)

        await asyncio.to_thread(wait)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def client(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> inngest.Inngest:
    monkeypatch.setenv("INNGEST_SIGNING_KEY_FALLBACK", FALLBACK)
    return inngest.Inngest(
        app_id="fwd", is_production=True, signing_key=KEY, api_base_url=recorder.url, env="br-1"
    )


def message(kind: str = "data", data: Any = None, **fields: Any) -> Message:
    return Message(kind=kind, channel="post:1", topic="ai", data=data, **fields)  # type: ignore[arg-type]


async def test_data_with_its_run_id_as_inngest_js_publishes(
    recorder: Recorder, client: inngest.Inngest
) -> None:
    await forward(client, message(data={"likes": 5}, run_id="01JRUN", fn_id="fwd-fn"))
    (request,) = recorder.requests
    assert request["path"] == "/v1/realtime/publish"
    assert request["query"] == {"channel": "post:1", "topic": "ai", "run_id": "01JRUN"}
    assert request["headers"]["authorization"] == f"Bearer {hashed(KEY)}"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["x-inngest-env"] == "br-1"
    assert json.loads(request["body"]) == {"likes": 5}


async def test_the_fallback_key_after_a_401(recorder: Recorder, client: inngest.Inngest) -> None:
    recorder.accept_only = f"Bearer {hashed(FALLBACK)}"
    await forward(client, message(data="x"))
    assert [r["headers"]["authorization"] for r in recorder.requests] == [
        f"Bearer {hashed(KEY)}",
        f"Bearer {hashed(FALLBACK)}",
    ]


async def test_a_refusal_raises_with_the_status(
    recorder: Recorder, client: inngest.Inngest
) -> None:
    recorder.status = 400
    with pytest.raises(ForwardError, match=r"HTTP 400 .*post:1"):
        await forward(client, message(data="x"))


async def test_a_stream_is_one_streamed_text_stream_request(
    recorder: Recorder, client: inngest.Inngest
) -> None:
    sid = "s1"
    await forward(client, message("datastream-start", sid, stream_id=sid, run_id="01JRUN"))
    await forward(client, message("chunk", "Hel", stream_id=sid, run_id="01JRUN"))
    # Live: the first chunk reaches Inngest before the next one is published.
    await recorder.wait_for(lambda r: r.chunks == [b"Hel"])
    await forward(client, message("chunk", "lo", stream_id=sid, run_id="01JRUN"))
    await recorder.wait_for(lambda r: r.chunks == [b"Hel", b"lo"])
    assert recorder.requests == []  # the request is still open
    await forward(client, message("datastream-end", sid, stream_id=sid, run_id="01JRUN"))
    (request,) = recorder.requests
    assert request["query"] == {"channel": "post:1", "topic": "ai", "run_id": "01JRUN"}
    assert request["headers"]["content-type"] == "text/stream"
    assert request["headers"]["authorization"] == f"Bearer {hashed(KEY)}"
    assert request["body"] == b"Hello"


async def test_a_refused_stream_raises_at_its_end(
    recorder: Recorder, client: inngest.Inngest
) -> None:
    recorder.status = 401
    await forward(client, message("datastream-start", "s2", stream_id="s2"))
    await forward(client, message("chunk", "x", stream_id="s2"))
    with pytest.raises(ForwardError, match="HTTP 401"):
        await forward(client, message("datastream-end", "s2", stream_id="s2"))


async def test_a_chunk_of_a_stream_never_started_is_an_error(client: inngest.Inngest) -> None:
    with pytest.raises(ForwardError, match="no datastream-start"):
        await forward(client, message("chunk", "x", stream_id="nope"))


runs = channel("fwd-run:{id}").add_topic(topic("logs").type(str))
forwarding_client = mocked.Inngest(
    app_id="fwd-app", middleware=[realtime_middleware()], is_production=False
)


@forwarding_client.create_function(fn_id="fwd", trigger=inngest.TriggerEvent(event="t/fwd"))
async def forwarded(ctx: inngest.Context) -> None:
    await publish(runs("1").logs("from a run"))


@forwarding_client.create_function(
    fn_id="fwd-stream", trigger=inngest.TriggerEvent(event="t/fwd-stream")
)
async def forwarded_stream(ctx: inngest.Context) -> None:
    await publish_stream(runs("2").logs, ["ab", "c"])


#: The client INNGEST_CLIENT names in the test below (pointed at the recorder).
forward_target: inngest.Inngest | None = None


@pytest.mark.django_db
def test_a_run_forwards_its_publish_with_its_run_id(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = inngest.Inngest(app_id="fwd-app", is_production=False, api_base_url=recorder.url)
    monkeypatch.setattr(f"{__name__}.forward_target", target)
    with realtime_settings(FORWARD_TO_INNGEST=True, INNGEST_CLIENT=f"{__name__}.forward_target"):
        res = mocked.trigger(forwarded, inngest.Event(name="t/fwd"), forwarding_client)
    assert res.status is mocked.Status.COMPLETED, res.error
    (request,) = recorder.requests
    assert request["query"] == {"channel": "fwd-run:1", "topic": "logs", "run_id": "test"}
    assert json.loads(request["body"]) == "from a run"
    assert "authorization" not in request["headers"]  # dev mode, no key: as the SDK


@pytest.mark.django_db
def test_a_runs_stream_is_forwarded_as_one_streamed_request(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = inngest.Inngest(app_id="fwd-app", is_production=False, api_base_url=recorder.url)
    monkeypatch.setattr(f"{__name__}.forward_target", target)
    with realtime_settings(FORWARD_TO_INNGEST=True, INNGEST_CLIENT=f"{__name__}.forward_target"):
        res = mocked.trigger(
            forwarded_stream, inngest.Event(name="t/fwd-stream"), forwarding_client
        )
    assert res.status is mocked.Status.COMPLETED, res.error
    (request,) = recorder.requests
    assert request["query"] == {"channel": "fwd-run:2", "topic": "logs", "run_id": "test"}
    assert request["headers"]["content-type"] == "text/stream"
    assert request["body"] == b"abc"

"""Forwarding publishes to Inngest's hosted realtime (``FORWARD_TO_INNGEST``), the way
Inngest's SDKs publish there.

* ``run`` (run status): not forwarded.
* ``data``: ``POST <api>/v1/realtime/publish?channel=&topic=&run_id=`` with the data as a JSON
  body (inngest-js sends ``run_id``; inngest-py's ``publish`` cannot, so it is not used).
* A stream (``datastream-start``, ``chunk``..., ``datastream-end``): one ``POST`` with
  ``Content-Type: text/stream`` whose body is the chunks as they come, as inngest-js
  streams a ``ReadableStream``. Inngest sends its own ``datastream-start`` (with a stream id
  of its making), cuts the body into chunks of up to 1 KB and sends ``datastream-end`` when
  the body ends: its subscribers get the same text, not the same chunk boundaries or ids.
  The body is written from a thread, so the chunks of one stream may be published from
  different event loops (``publish_stream_sync``).

Authenticated as the SDKs are: ``Authorization: Bearer <hashed signing key>``, retried with
the fallback key after a 401 or 403 (a streamed body cannot be sent twice: streams use the
first key only), and ``X-Inngest-Env`` for a branch environment.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx

from django_inngest_realtime.envelope import Message
from django_inngest_realtime.signing_keys import hashed

#: Seconds an HTTP request to Inngest may take; for a stream, the longest wait for its
#: next chunk before the body is ended.
TIMEOUT = 30.0


class ForwardError(Exception):
    """Inngest refused (or could not be reached for) a forwarded publish."""


def _headers(client: Any, key: str | None, content_type: str) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {hashed(key)[0]}"
    if client.env:
        headers["X-Inngest-Env"] = client.env
    return headers


def _url(client: Any, message: Message) -> str:
    query = {"channel": message.channel, "topic": message.topic}
    if message.run_id:
        query["run_id"] = message.run_id
    return f"{urljoin(client.api_origin, '/v1/realtime/publish')}?{urlencode(query)}"


def _refused(message: Message, response: httpx.Response) -> ForwardError:
    return ForwardError(
        f"Inngest answered HTTP {response.status_code} to the {message.kind} of channel "
        f"{message.channel!r}: {response.text[:300]}"
    )


class _Stream:
    """One stream's ``text/stream`` request, its body fed chunk by chunk from a queue."""

    def __init__(self, client: Any, message: Message) -> None:
        self.message = message
        self.chunks: queue.Queue[str | None] = queue.Queue()
        self.error: Exception | None = None
        key = client.signing_key
        self.request = (_url(client, message), _headers(client, key, "text/stream"))
        self.thread = threading.Thread(target=self._send, name="inngest-rt-forward", daemon=True)
        self.thread.start()

    def _body(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self.chunks.get(timeout=TIMEOUT)
            except queue.Empty:
                return  # the stream's producer went away: end the body, Inngest ends it too
            if chunk is None:
                return
            yield chunk.encode()

    def _send(self) -> None:
        url, headers = self.request
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                response = http.post(url, content=self._body(), headers=headers)
            if response.status_code >= 400:
                self.error = _refused(self.message, response)
        except httpx.HTTPError as exc:
            self.error = ForwardError(f"Could not reach Inngest: {exc}")

    def write(self, chunk: str) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put(chunk)

    async def end(self) -> None:
        self.chunks.put(None)
        await asyncio.to_thread(self.thread.join, TIMEOUT)
        if self.thread.is_alive():
            raise ForwardError(f"Inngest did not answer the stream within {TIMEOUT} s.")
        if self.error is not None:
            raise self.error


#: Streams being forwarded, by our stream id.
_streams: dict[str, _Stream] = {}


async def forward(client: Any, message: Message) -> None:
    """Send ``message`` (any kind) to Inngest through ``client`` (an ``inngest.Inngest``);
    raise :class:`ForwardError` when Inngest refuses it.

    Run status messages (``kind: "run"``) are not forwarded: Inngest has no API to publish
    them, and its hosted realtime makes its own where it does."""
    if message.kind == "run":
        return
    if message.kind == "data":
        await _publish_data(client, message)
        return
    stream_id = message.stream_id or ""
    if message.kind == "datastream-start":
        _streams[stream_id] = _Stream(client, message)
        return
    stream = _streams.get(stream_id)
    if stream is None:
        raise ForwardError(
            f"The {message.kind} of stream {stream_id!r} on channel {message.channel!r} has "
            "no datastream-start forwarded before it."
        )
    if message.kind == "chunk":
        stream.write(message.data if isinstance(message.data, str) else json.dumps(message.data))
    else:
        del _streams[stream_id]
        await stream.end()


async def _publish_data(client: Any, message: Message) -> None:
    body = json.dumps(message.data, separators=(",", ":"), ensure_ascii=False).encode()
    keys = [client.signing_key, client.signing_key_fallback]
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        for key in keys if keys[1] else keys[:1]:
            try:
                response = await http.post(
                    _url(client, message),
                    content=body,
                    headers=_headers(client, key, "application/json"),
                )
            except httpx.HTTPError as exc:
                raise ForwardError(f"Could not reach Inngest: {exc}") from exc
            if response.status_code not in (401, 403):
                break
    if response.status_code >= 400:
        raise _refused(message, response)


async def forward_to_inngest(message: Message) -> None:
    """Send a message of any kind to Inngest's hosted realtime through ``INNGEST_CLIENT``, as
    Inngest's SDKs publish (with the run's ``run_id``; streams streamed).

    Raises :class:`ForwardError` when Inngest refuses it.
    """
    from django_inngest_realtime.client import get_inngest_client

    await forward(get_inngest_client(), message)

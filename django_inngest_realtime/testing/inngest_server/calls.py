"""One call request to the app and what its reply means (SDK spec 4.4, 5.1)."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import uuid
from typing import Any, Protocol

import httpx

from django_inngest_realtime.testing.inngest_server import limits, signing
from django_inngest_realtime.testing.inngest_server.expressions import Expression
from django_inngest_realtime.testing.inngest_server.models import CallRecord, Run


class RunFailed(Exception):
    """Ends the run as ``Failed`` with ``error`` (``{"name", "message", ...}``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def double_error(name: str, message: str) -> RunFailed:
    return RunFailed({"name": name, "message": message})


class RunHost(Protocol):
    """What a run needs from the server (the engine implements it)."""

    @property
    def signing_key(self) -> str | None: ...
    @property
    def signing_key_fallback(self) -> str | None: ...
    @property
    def server_kind(self) -> str: ...
    @property
    def check_response_signatures(self) -> bool: ...
    @property
    def request_timeout(self) -> float: ...
    @property
    def max_step_output_bytes(self) -> int: ...
    @property
    def max_state_bytes(self) -> int: ...
    @property
    def max_response_bytes(self) -> int: ...

    def record(self, run: Run, **changes: Any) -> None: ...
    async def timer(self, seconds: float) -> None: ...
    def retry_seconds(self, retry_after: str | None) -> float: ...
    async def retry_pause(self, retry_after: str | None, seconds: float) -> None: ...
    async def wait_for_event(
        self, run: Run, name: str, expression: Expression | None, timeout: float
    ) -> dict[str, Any] | None: ...
    async def invoke(
        self, parent: Run, function_id: str, data: Any, timeout: float | None
    ) -> dict[str, Any]: ...


@dataclasses.dataclass
class Reply:
    status: int
    output: Any = None
    ops: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    error: dict[str, Any] | None = None
    retriable: bool = True
    retry_after: str | None = None


async def call_app(
    host: RunHost,
    client: httpx.AsyncClient,
    run: Run,
    url: str,
    body: dict[str, Any],
    step_id: str | None,
    attempt: int,
) -> Reply:
    """POST the call request for ``step_id`` (``None``: discovery) and classify the reply."""
    target = step_id or "step"
    url = _with_step(url, target)
    raw_body = signing.canonical_json(body)
    headers = {
        "content-type": "application/json",
        "user-agent": "inngest-server-double",
        "x-inngest-server-kind": host.server_kind,
        "x-request-id": uuid.uuid4().hex,
    }
    if host.signing_key:
        headers["x-inngest-signature"] = signing.sign(raw_body, host.signing_key)
    limit, signed = host.max_response_bytes, bool(host.signing_key)
    try:
        request = client.build_request(
            "POST", url, content=raw_body, headers=headers, timeout=host.request_timeout
        )
        response = await client.send(request, stream=True)
        try:
            raw = await _read(response, limit)
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        host.record(run, call=CallRecord(target, attempt, 0, signed))
        return Reply(0, error={"name": "ConnectionError", "message": f"calling {url}: {exc!r}"})
    if raw is None:  # Inngest reads no more than this, and fails the attempt
        host.record(run, call=CallRecord(target, attempt, response.status_code, signed))
        error = limits.response_too_large(response.status_code, limit)
        return Reply(response.status_code, error=error, retriable=not _no_retry(response))
    return _reply(host, run, target, attempt, response, raw)


async def _read(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or ``None`` once it passes ``limit`` bytes (the rest is not read)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _no_retry(response: httpx.Response) -> bool:
    return str(response.headers.get("x-inngest-no-retry", "")).lower() == "true"


def _reply(
    host: RunHost, run: Run, target: str, attempt: int, response: httpx.Response, raw: bytes
) -> Reply:
    status = response.status_code
    sig_ok: bool | None = None
    problem = None
    if host.signing_key and host.check_response_signatures and status in (200, 206):
        keys = [k for k in (host.signing_key, host.signing_key_fallback) if k]
        problem = signing.verify_response(raw, response.headers.get("x-inngest-signature"), keys)
        sig_ok = problem is None
    host.record(run, call=CallRecord(target, attempt, status, bool(host.signing_key), sig_ok))
    if problem:
        raise double_error("ResponseSignatureInvalid", f"HTTP {status} from the app: {problem}")
    try:
        payload = json.loads(raw) if raw.strip() else None
    except ValueError:
        payload = raw.decode(errors="replace")
    no_retry = _no_retry(response)
    retry_after = response.headers.get("retry-after")
    if status == 200:
        return Reply(status, output=payload)
    if status == 206:
        ops: list[Any] = payload if isinstance(payload, list) else [payload]
        if not ops or not all(isinstance(o, dict) and "op" in o and "id" in o for o in ops):
            raise double_error("BadResponse", f"HTTP 206 without opcodes: {payload!r}")
        too_large = limits.oversized_step(ops, host.max_step_output_bytes)
        if too_large is not None:
            return Reply(status, error=too_large, retriable=not no_retry, retry_after=retry_after)
        return Reply(status, ops=ops, retriable=not no_retry, retry_after=retry_after)
    if isinstance(payload, dict) and "message" in payload:
        error = dict(payload)
        error.setdefault("name", "Error")
    else:
        error = {"name": "HTTPError", "message": f"HTTP {status} from the app: {payload!r}"}
    return Reply(status, error=error, retriable=not no_retry, retry_after=retry_after)


def _with_step(url: str, step_id: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    query["stepId"] = step_id
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

"""The double's HTTP endpoints: what the SDK calls (sync, events, realtime, run state)."""

from __future__ import annotations

import re
from typing import Any

from django_inngest_realtime.testing.inngest_server import signing
from django_inngest_realtime.testing.inngest_server.engine import Engine
from django_inngest_realtime.testing.inngest_server.expressions import ExpressionError
from django_inngest_realtime.testing.inngest_server.http import Request, Response
from django_inngest_realtime.testing.inngest_server.models import (
    FunctionDef,
    PublishedMessage,
    RegistrationError,
)

_RUN_PATH = re.compile(r"^/v0/runs/(?P<run_id>[^/]+)/(?P<what>batch|actions)$")


class Api:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(self, request: Request) -> Response:
        path, method = request.path.rstrip("/") or "/", request.method
        if method == "POST" and path == "/fn/register":
            return self.register(request)
        if method == "POST" and path.startswith("/e/"):
            return self.events(request, path[3:])
        if method == "POST" and path == "/v1/realtime/publish":
            return self.publish(request)
        match = _RUN_PATH.match(path)
        if method == "GET" and match:
            return self.run_state(request, match["run_id"], match["what"])
        if method == "GET" and path in ("/", "/health"):
            return Response.json({"ok": True, "server": "inngest-server-double"})
        return Response.json({"error": f"{method} {path} is not an endpoint of the double"}, 404)

    def _unauthorized(self, request: Request) -> Response | None:
        """Inngest Cloud checks the bearer signing key; the Dev Server (no key) does not."""
        keys = [k for k in (self.engine.signing_key, self.engine.signing_key_fallback) if k]
        if keys and not signing.bearer_ok(request.headers.get("authorization"), keys):
            return Response.json({"error": "authorization header does not match the key"}, 401)
        return None

    def register(self, request: Request) -> Response:
        refused = self._unauthorized(request)
        if refused:
            return refused
        try:
            body = request.json()
            self.engine_register(body)
        except (RegistrationError, ExpressionError, ValueError, KeyError, TypeError) as exc:
            self.engine.error(f"registration refused: {exc}")
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"ok": True, "modified": True})

    def engine_register(self, body: dict[str, Any]) -> list[str]:
        """Replace the app's functions by those in a sync payload (out-of-band or in-band)."""
        app_url = str(body["url"])
        strict = not self.engine.options.allow_unsupported_config
        functions = [FunctionDef.from_config(c, app_url, strict) for c in body["functions"]]
        with self.engine.changed:
            for fn_id, fn in list(self.engine.functions.items()):
                if fn.app_url == app_url:
                    del self.engine.functions[fn_id]
            for fn in functions:
                self.engine.functions[fn.id] = fn
            self.engine.changed.notify_all()
        return [fn.id for fn in functions]

    def events(self, request: Request, key: str) -> Response:
        wanted = self.engine.options.event_key
        if wanted is not None and key != wanted:
            return Response.json({"error": "Event key not found", "status": 401}, 401)
        try:
            body = request.json()
            ids = self.engine.ingest(body if isinstance(body, list) else [body])
        except ValueError as exc:
            return Response.json({"error": str(exc), "status": 400}, 400)
        return Response.json({"ids": ids, "status": 200})

    def publish(self, request: Request) -> Response:
        refused = self._unauthorized(request)
        refusal = self.engine.publish_refusal
        try:
            data = request.json()
        except ValueError:
            data = request.body.decode(errors="replace")
        message = PublishedMessage(
            channel=request.query.get("channel", ""),
            topic=request.query.get("topic", ""),
            data=data,
            headers=dict(request.headers),
            accepted=refused is None and refusal is None,
        )
        with self.engine.changed:
            self.engine.published.append(message)
            self.engine.changed.notify_all()
        if refused:
            return refused
        if refusal is not None:
            return Response.json(refusal[1], refusal[0])
        if not message.channel or not message.topic:
            return Response.json({"error": "channel and topic are required"}, 400)
        return Response.json({})

    def run_state(self, request: Request, run_id: str, what: str) -> Response:
        refused = self._unauthorized(request)
        if refused:
            return refused
        executor = self.engine.executors.get(run_id)
        if executor is None:
            return Response.json({"error": f"run {run_id} not found"}, 404)
        if what == "batch":
            return Response.json([executor.run.event])
        return Response.json(dict(executor.memo))

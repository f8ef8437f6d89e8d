"""The double as a local development server (``manage.py inngest_dev``).

:class:`DevServer` listens where Inngest's Dev Server does (``127.0.0.1:8288``), forwards
what the SDK calls (sync, events, realtime publishes, run state) to an
:class:`InngestServerDouble`, and adds a small read-only API modelled on Inngest's REST
API, so a person or a CI job can see events, runs and their steps::

    GET /v1/events                 the events received, oldest first
    GET /v1/events/{id}/runs       the runs an event started
    GET /v1/runs                   every run
    GET /v1/runs/{id}              one run, with its steps
    GET /v1/functions              the synced functions

Answers are ``{"data": ...}``. See ``docs/inngest-dev.md``.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from typing import Any

import httpx

from django_inngest_realtime.testing.inngest_server.http import HttpServer, Request, Response
from django_inngest_realtime.testing.inngest_server.lifecycle import LoopService
from django_inngest_realtime.testing.inngest_server.models import Run, StepRecord
from django_inngest_realtime.testing.inngest_server.server import InngestServerDouble

DEFAULT_PORT = 8288  # Inngest's Dev Server's: an SDK in dev mode (INNGEST_DEV=1) looks there
_EVENT_RUNS = re.compile(r"^/v1/events/(?P<id>[^/]+)/runs$")
_RUN = re.compile(r"^/v1/runs/(?P<id>[^/]+)$")
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class DevServer(LoopService):
    """An :class:`InngestServerDouble` behind a front on ``host:port`` (see the module docs).

    ``double_options`` go to the double (``time_scale``, ``max_sleep``...); it runs in
    dev mode: no signing key, any event key.
    """

    def __init__(
        self, *, port: int = DEFAULT_PORT, host: str = "127.0.0.1", **double_options: Any
    ) -> None:
        self.double = InngestServerDouble(**double_options)
        self._http = HttpServer(self.handle, host=host, port=port)
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://{self._http.host}:{self._http.port}"

    def environ(self) -> dict[str, str]:
        """What to set in the Django process so its Inngest client talks to this server."""
        return environ(self._http.port)

    def start(self) -> DevServer:
        """Start the double, then the front; returns once both listen."""
        self.double.start()
        try:
            super().start()
        except BaseException:
            self.double.stop()
            raise
        return self

    def stop(self) -> None:
        super().stop()
        self.double.stop()

    async def _serve(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.double.url, timeout=60)
        await self._http.start()

    async def _shutdown(self) -> None:
        await self._http.close()
        if self._client is not None:
            await self._client.aclose()

    async def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if request.method == "GET":
            answer = self._read(path)
            if answer is not None:
                return answer
        if request.method == "POST" and path.startswith("/e/"):
            return await self._events(request)
        return await self._forward(request)

    def _read(self, path: str) -> Response | None:
        double = self.double
        if path in ("/", "/health"):
            return Response.json({"ok": True, "server": "django-inngest-realtime inngest_dev"})
        if path == "/v1/events":
            return Response.json({"data": double.events})
        if path == "/v1/runs":
            return Response.json({"data": [run_json(r) for r in double.runs()]})
        if path == "/v1/functions":
            functions = [
                {"id": f.id, "name": f.name, "url": f.url, "triggers": f.config.get("triggers")}
                for f in double.functions.values()
            ]
            return Response.json({"data": functions})
        if match := _EVENT_RUNS.match(path):
            runs = [run_json(r) for r in double.runs() if r.event.get("id") == match["id"]]
            return Response.json({"data": runs})
        if match := _RUN.match(path):
            try:
                return Response.json({"data": run_json(double.get_run(match["id"]))})
            except KeyError:
                return Response.json({"error": f"run {match['id']} not found"}, 404)
        return None

    async def _events(self, request: Request) -> Response:
        """Give each event an ``id`` first, and answer with those ids.

        The double answers with internal ids; the events' own ids are what
        ``/v1/events/{id}/runs`` looks runs up by.
        """
        try:
            body = request.json()
        except ValueError:
            return await self._forward(request)
        events = body if isinstance(body, list) else [body]
        if not all(isinstance(event, dict) for event in events):
            return await self._forward(request)
        for event in events:
            if not event.get("id"):
                event["id"] = uuid.uuid4().hex
        request.body = json.dumps(events).encode()
        answer = await self._forward(request)
        if answer.status == 200:
            return Response.json({"ids": [event["id"] for event in events], "status": 200})
        return answer

    async def _forward(self, request: Request) -> Response:
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        try:
            res = await self._client.request(
                request.method,
                request.path,
                params=request.query,
                headers=headers,
                content=request.body,
            )
        except httpx.HTTPError as exc:
            return Response.json({"error": f"inngest_dev: the double did not answer: {exc}"}, 503)
        kept = {k: v for k, v in res.headers.items() if k.lower() not in _HOP_BY_HOP}
        return Response(res.status_code, res.content, kept)


def environ(port: int = DEFAULT_PORT) -> dict[str, str]:
    """The Inngest SDK's variables for a Django process using a dev server on ``port``."""
    return InngestServerDouble(port=port).environ()


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "id": step.id,
        "name": step.display_name,
        "op": step.op,
        "data": step.data,
        "error": step.error,
        "attempt": step.attempt,
        "timed_out": step.timed_out,
    }


def run_json(run: Run) -> dict[str, Any]:
    """A run as Inngest's REST API names its fields, plus its steps and what it waits for."""
    return {
        "run_id": run.run_id,
        "function_id": run.function_id,
        "event_id": run.event.get("id"),
        "event_name": run.event.get("name"),
        "status": run.status,
        "output": run.output,
        "error": run.error,
        "run_started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "waiting_for": run.waiting_for,
        "sleeping_until": _iso(run.sleeping_until),
        "steps": [step_json(step) for step in run.steps],
    }

"""``InngestServerDouble``: an in-process Inngest server for tests.

Run it on its own thread (``with InngestServerDouble() as server:`` or ``start()`` /
``stop()``) or inside the running event loop (``async with`` or ``await start_async()``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from django_inngest_realtime.testing.inngest_server import limits
from django_inngest_realtime.testing.inngest_server.api import Api
from django_inngest_realtime.testing.inngest_server.engine import Engine, Options
from django_inngest_realtime.testing.inngest_server.http import HttpServer
from django_inngest_realtime.testing.inngest_server.lifecycle import LoopService
from django_inngest_realtime.testing.inngest_server.models import (
    FunctionDef,
    PublishedMessage,
    Run,
)
from django_inngest_realtime.testing.inngest_server.sync import SyncError, sync_app

__all__ = ["InngestServerDouble", "SyncError"]

RunMatch = str | Callable[[Run], bool]


class InngestServerDouble(LoopService):
    """An Inngest server double on ``http://127.0.0.1:<port>`` (see the module docs)."""

    def __init__(
        self,
        *,
        port: int = 0,
        signing_key: str | None = None,
        signing_key_fallback: str | None = None,
        event_key: str | None = None,
        time_scale: float = 1.0,
        max_sleep: float | None = None,
        retry_delay: float = 0.05,
        request_timeout: float = 60.0,
        check_response_signatures: bool = True,
        allow_unsupported_config: bool = False,
        server_kind: Literal["dev", "cloud"] | None = None,
        max_step_output_bytes: int = limits.MAX_STEP_OUTPUT_BYTES,
        max_state_bytes: int = limits.MAX_STATE_BYTES,
        max_response_bytes: int = limits.MAX_RESPONSE_BYTES,
    ) -> None:
        self.options = Options(
            signing_key=signing_key,
            signing_key_fallback=signing_key_fallback,
            event_key=event_key,
            time_scale=time_scale,
            max_sleep=max_sleep,
            retry_delay=retry_delay,
            request_timeout=request_timeout,
            check_response_signatures=check_response_signatures,
            allow_unsupported_config=allow_unsupported_config,
            server_kind=server_kind,
            max_step_output_bytes=max_step_output_bytes,
            max_state_bytes=max_state_bytes,
            max_response_bytes=max_response_bytes,
        )
        self._engine = Engine(self.options)
        self._api = Api(self._engine)
        self._http = HttpServer(self._api.handle, port=port)
        self._app_urls: list[str] = []

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        """Base URL for ``INNGEST_DEV`` / ``INNGEST_BASE_URL`` / ``api_base_url``."""
        return f"http://127.0.0.1:{self._http.port}"

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def server_kind(self) -> str:
        """``"cloud"`` with a signing key (requests signed), else ``"dev"``."""
        return self._engine.server_kind

    def environ(self) -> dict[str, str]:
        """Environment variables that point the Inngest SDK at this double.

        Dev mode (no signing key): ``INNGEST_DEV=<url>``. Cloud mode: ``INNGEST_DEV=0``,
        ``INNGEST_SIGNING_KEY`` and ``INNGEST_EVENT_KEY``. Base URLs are set in both.
        """
        env = {
            "INNGEST_BASE_URL": self.url,
            "INNGEST_API_BASE_URL": self.url,
            "INNGEST_EVENT_API_BASE_URL": self.url,
        }
        if self.server_kind == "dev":
            env["INNGEST_DEV"] = self.url
            return env
        env["INNGEST_DEV"] = "0"
        env["INNGEST_EVENT_KEY"] = self.options.event_key or "inngest-server-double"
        if self.options.signing_key:
            env["INNGEST_SIGNING_KEY"] = self.options.signing_key
        if self.options.signing_key_fallback:
            env["INNGEST_SIGNING_KEY_FALLBACK"] = self.options.signing_key_fallback
        return env

    async def _serve(self) -> None:
        await self._http.start()

    async def _shutdown(self) -> None:
        await self._engine.close()
        await self._http.close()

    # -- apps --------------------------------------------------------------------------
    def register_url(self, serve_url: str) -> None:
        """Remember an app's serve URL (``http://host:port/api/inngest``) for :meth:`sync`."""
        if serve_url not in self._app_urls:
            self._app_urls.append(serve_url)

    def sync(
        self,
        serve_url: str | None = None,
        *,
        kind: Literal["out_of_band", "in_band"] = "out_of_band",
    ) -> list[str]:
        """Sync the app(s) (a ``PUT`` to the serve URL); returns the synced function ids."""
        return self._blocking(self.sync_async(serve_url, kind=kind), "sync_async()")

    async def sync_async(
        self,
        serve_url: str | None = None,
        *,
        kind: Literal["out_of_band", "in_band"] = "out_of_band",
    ) -> list[str]:
        urls = [serve_url] if serve_url else list(self._app_urls)
        if not urls:
            raise SyncError("no app URL: call register_url(serve_url) or pass one to sync()")
        if serve_url:
            self.register_url(serve_url)
        synced: list[str] = []
        for url in urls:
            synced += await self._aio(sync_app(self._api, self._engine, url, kind))
        return synced

    @property
    def functions(self) -> dict[str, FunctionDef]:
        """Synced functions by composite id (``<app id>-<function id>``)."""
        with self._engine.lock:
            return dict(self._engine.functions)

    # -- events and runs ---------------------------------------------------------------
    def send_event(
        self, event: str | Mapping[str, Any] | list[Mapping[str, Any]], data: Any = None
    ) -> list[str]:
        """Send events as the event API does; ``send_event("app/x", {"k": 1})`` works too."""
        if isinstance(event, str):
            events: list[Any] = [{"name": event, "data": data or {}}]
        elif isinstance(event, Mapping):
            events = [dict(event)]
        else:
            events = [dict(e) for e in event]
        events = [json.loads(json.dumps(e)) for e in events]
        return self._run(lambda: self._engine.ingest(events))

    def invoke(self, function_id: str, data: Mapping[str, Any] | None = None) -> Run:
        """Start a run of ``function_id`` directly (as ``step.invoke`` does; for cron functions)."""

        def start() -> Run:
            fn = self._engine.functions.get(function_id)
            if fn is None:
                raise KeyError(
                    f"no synced function {function_id!r}; synced: {list(self.functions)}"
                )
            event = self._engine.normalize({"name": "inngest/function.invoked", "data": data})
            with self._engine.lock:
                self._engine.events.append(event)
            return self._engine.start_run(fn, event).copy()

        return self._run(start)

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._engine.lock:
            return list(self._engine.events)

    @property
    def errors(self) -> list[str]:
        """Problems the double met outside any run (refused syncs, failed trigger expressions)."""
        with self._engine.lock:
            return list(self._engine.errors)

    def runs(self, function_id: str | None = None) -> list[Run]:
        """Copies of the runs so far (of ``function_id`` only, when given), oldest first."""
        with self._engine.lock:
            return [
                r.copy()
                for r in self._engine.runs.values()
                if function_id is None or r.function_id == function_id
            ]

    def get_run(self, run_id: str) -> Run:
        with self._engine.lock:
            return self._engine.runs[run_id].copy()

    def _find(self, match: RunMatch, finished: bool) -> Run | None:
        for run in self._engine.runs.values():
            hit = run.run_id == match if isinstance(match, str) else match(run)
            if hit and (run.finished or not finished):
                return run.copy()
        return None

    def wait_for_run(self, match: RunMatch, timeout: float = 30.0, *, finished: bool = True) -> Run:
        """Block until a run matches (by id or predicate) and, by default, has finished.

        Returns a copy with ``status`` (``Completed``/``Failed``/``Running``), ``output``,
        ``error`` and ``steps``; raises ``TimeoutError`` describing the runs seen.
        """
        if self._on_loop():
            raise RuntimeError("use `await wait_for_run_async(...)` on the double's event loop")
        deadline = time.monotonic() + timeout
        with self._engine.changed:
            while (run := self._find(match, finished)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(self._timeout_message(match, timeout))
                self._engine.changed.wait(min(left, 0.5))
        return run

    async def wait_for_run_async(
        self, match: RunMatch, timeout: float = 30.0, *, finished: bool = True
    ) -> Run:
        """:meth:`wait_for_run` for async code; never blocks the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._engine.lock:
                run = self._find(match, finished)
            if run is not None:
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(match, timeout))
            await asyncio.sleep(0.02)

    def _timeout_message(self, match: RunMatch, timeout: float) -> str:
        seen = [f"{r.function_id} {r.run_id} {r.status} ops={r.ops()}" for r in self.runs()]
        return (
            f"no finished run matching {match!r} within {timeout} s. Runs: {seen or 'none'}; "
            f"functions: {list(self.functions)}; errors: {self.errors}"
        )

    # -- realtime ----------------------------------------------------------------------
    @property
    def published(self) -> list[PublishedMessage]:
        """Bodies received on ``POST /v1/realtime/publish``, refused ones included."""
        with self._engine.lock:
            return list(self._engine.published)

    def refuse_publish(self, status: int = 500, message: str = "refused by the test") -> None:
        """Answer realtime publishes with ``status`` and ``{"error": message}`` from now on."""
        self._engine.publish_refusal = (status, {"error": message})

    def accept_publish(self) -> None:
        self._engine.publish_refusal = None

    # -- mutable options ---------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        """Change options while running: ``time_scale``, ``max_sleep``, ``retry_delay``,
        ``signing_key``, ``event_key``, ``check_response_signatures``..."""
        for name, value in changes.items():
            if not hasattr(self.options, name):
                raise TypeError(f"unknown option {name!r}")
            setattr(self.options, name, value)

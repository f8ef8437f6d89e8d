"""The Inngest serve endpoint for your URLconf, built on its first request.

``inngest.django.serve()`` checks the client's signing key when it is called, that is when
the URLconf is imported, so without ``INNGEST_SIGNING_KEY`` (or ``INNGEST_DEV``) every
management command that loads URLs stops with a traceback before system check E005 can
say what is wrong. :func:`serve_inngest` returns the same endpoint, but builds the SDK's
view when the first request arrives: ``manage.py check`` reports E005, and until the key
is set the endpoint answers 500 with the reason.

It also reports a failed function run (the SDK answers Inngest with HTTP 500, as its
protocol requires) as what it is, one log line naming the function and the error, instead
of Django's "Internal Server Error".
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.views.decorators.csrf import csrf_exempt

if TYPE_CHECKING:
    import inngest

logger = logging.getLogger("django_inngest_realtime.serve")

View = Callable[[HttpRequest], Any]


def serve_inngest(
    client: inngest.Inngest,
    functions: Sequence[inngest.Function[Any]],
    *,
    name: str = "inngest",
    serve_path: str | None = None,
    **options: Any,
) -> URLPattern:
    """``inngest.django.serve(client, functions)``, checked by ``manage.py check`` first.

    Mounts at ``serve_path`` (default ``INNGEST_SERVE_PATH``, else ``/api/inngest``) under
    the URL name ``name``; other keyword arguments go to ``inngest.django.serve``.
    """
    options = {"serve_path": serve_path, **options}
    endpoint = InngestEndpoint(client, list(functions), options, name=name)
    route = serve_path or os.environ.get("INNGEST_SERVE_PATH") or "/api/inngest"
    return path(route.lstrip("/"), endpoint.view(), name=name)


def signing_key_problem(client: inngest.Inngest, label: str | None = None) -> str | None:
    """Why the SDK would refuse to serve ``client`` (production mode, no key), or None."""
    # The SDK also reads the variable when it builds the view, after the client was made.
    if not client.is_production or client.signing_key or os.environ.get("INNGEST_SIGNING_KEY"):
        return None
    return (
        f"The Inngest client {label or repr(client.app_id)} runs in production mode without "
        "a signing key: requests to its serve endpoint cannot be verified, so the endpoint "
        "refuses to start."
    )


class InngestEndpoint:
    """One ``serve_inngest()`` endpoint: its client, functions, and the SDK view once built."""

    def __init__(
        self,
        client: inngest.Inngest,
        functions: list[inngest.Function[Any]],
        options: dict[str, Any],
        *,
        name: str,
    ) -> None:
        self.client = client
        self.name = name
        self.functions = functions
        self.options = options
        self._view: View | None = None
        self._lock = threading.Lock()

    @property
    def is_async(self) -> bool:
        """The SDK serves async when any handler is async; so do we."""
        return any(fn.is_handler_async or fn.is_on_failure_handler_async for fn in self.functions)

    def sdk_view(self) -> View | HttpResponse:
        """The SDK's view, built once; a 500 response saying why when it cannot be built."""
        with self._lock:
            if self._view is None:
                import inngest.django

                try:
                    pattern = inngest.django.serve(self.client, self.functions, **self.options)
                except Exception as exc:
                    problem = signing_key_problem(self.client)
                    reason = problem or f"{type(exc).__name__}: {exc}"
                    logger.error(
                        "The Inngest serve endpoint cannot start. %s", reason, exc_info=not problem
                    )
                    body = {"error": reason}
                    if problem:
                        body["hint"] = "Set INNGEST_SIGNING_KEY, or INNGEST_DEV=1 in development."
                    return JsonResponse(body, status=500)
                self._view = pattern.callback
            return self._view

    def view(self) -> View:
        """The view to mount: async when the SDK's would be, and findable by the checks."""
        view = csrf_exempt(self._serve_async if self.is_async else self._serve_sync)
        setattr(view, "inngest_endpoint", self)  # noqa: B010 (a function attribute)
        return view

    async def _serve_async(self, request: HttpRequest) -> HttpResponse:
        view = self.sdk_view()
        if isinstance(view, HttpResponse):
            return view
        return self._report(request, await view(request))

    def _serve_sync(self, request: HttpRequest) -> HttpResponse:
        view = self.sdk_view()
        if isinstance(view, HttpResponse):
            return view
        return self._report(request, view(request))

    def _report(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Log a failed run attempt as such; Django would call the SDK's 500 a server error."""
        function = request.GET.get("fnId")
        if response.status_code != 500 or request.method != "POST" or not function:
            return response
        try:
            error = json.loads(response.content)
        except ValueError:
            return response
        if not isinstance(error, dict) or "name" not in error:
            return response
        retry = response.get("x-inngest-no-retry") != "true"
        logger.warning(
            "Inngest function %s failed: %s: %s (reported to Inngest; %s).",
            function,
            error.get("name"),
            error.get("message"),
            "Inngest retries it if attempts remain" if retry else "no retry",
        )
        # Django logs every 5xx as "Internal Server Error" unless told it has been logged.
        # A private flag (django.utils.log.log_response): without it, Django logs its line too.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def served_endpoints(urlconf: str | None = None) -> Iterator[InngestEndpoint]:
    """Every ``serve_inngest()`` endpoint in the URLconf."""

    def walk(patterns: Sequence[Any]) -> Iterator[InngestEndpoint]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                endpoint = getattr(pattern.callback, "inngest_endpoint", None)
                if isinstance(endpoint, InngestEndpoint):
                    yield endpoint

    yield from walk(get_resolver(urlconf).url_patterns)

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from django_inngest_realtime import publish, publish_stream, subscribe
from django_inngest_realtime.topics import registry
from tests import channels  # noqa: F401  (defines the channels the live server serves)


async def stream(request: HttpRequest, name: str) -> StreamingHttpResponse:
    since = request.GET.get("since")
    sub = await subscribe(
        name,
        topics=request.GET.getlist("topic") or None,
        since=int(since) if since is not None else None,
    )
    return sub.sse_response(keepalive=float(request.GET.get("keepalive", "15")))


@csrf_exempt
async def publish_view(request: HttpRequest, name: str, topic: str) -> JsonResponse:
    """Test-only: publish the JSON body (a list of data items) from inside the server."""
    ref = registry.resolve(name)
    sent = [await publish(ref.topic(topic)(item)) for item in json.loads(request.body)]
    return JsonResponse({"seqs": [m.seq for m in sent]})


@csrf_exempt
async def stream_view(request: HttpRequest, name: str, topic: str) -> JsonResponse:
    """Test-only: publish ``{"before": data, "chunks": [...], "after": data}`` as a data
    message, a stream of the chunks, and another data message."""
    body = json.loads(request.body)
    ref = registry.resolve(name)
    await publish(ref.topic(topic)(body["before"]))
    stream_id = await publish_stream(ref.topic(topic), body["chunks"])
    await publish(ref.topic(topic)(body["after"]))
    return JsonResponse({"stream_id": stream_id})


def widgets_page(request: HttpRequest, name: str) -> HttpResponse:
    """Test-only: a page with each widget on channel ``live:<name>``."""
    return render(request, "widgets_page.html", {"channel": f"live:{name}", "name": name})


def confirmations_page(request: HttpRequest, name: str) -> HttpResponse:
    """Test-only: a confirmations widget on channel ``approvals:<name>`` (needs a database)."""
    return render(request, "confirmations_page.html", {"approvals": f"approvals:{name}"})


async def hub_state(request: HttpRequest) -> JsonResponse:
    """Test-only: what this process's fan-out hub holds."""
    from django_inngest_realtime.hub import get_hub
    from django_inngest_realtime.transports.asgi import SendWriter

    hub = get_hub()
    subscribers = {s for group in hub.members.values() for s in group}
    return JsonResponse(
        {
            "groups": hub.group_count(),
            "subscribers": sum(len(s) for s in hub.members.values()),
            # Written to the connection itself (Daphne), or handed to the ASGI ``send``
            # from the hub's call (any other server, or direct writes off).
            "direct": sum(
                1 for s in subscribers if s.direct and not isinstance(s.writer, SendWriter)
            ),
            "through_send": sum(
                1 for s in subscribers if s.direct and isinstance(s.writer, SendWriter)
            ),
        }
    )


async def task_count(request: HttpRequest) -> JsonResponse:
    """Test-only: the tasks alive on the server's event loop (this request's included)."""
    import asyncio

    return JsonResponse({"tasks": len([t for t in asyncio.all_tasks() if not t.done()])})


async def thread_count(request: HttpRequest) -> JsonResponse:
    """Test-only: the threads alive in the server's process (this request's own included,
    if it has one)."""
    import threading

    return JsonResponse({"threads": threading.active_count()})


def _with_csp(request: HttpRequest, template: str, context: dict[str, object]) -> HttpResponse:
    """Render ``template`` under a strict Content-Security-Policy (no inline script or style)."""
    import secrets

    nonce = secrets.token_urlsafe(16)
    response = render(request, template, {**context, "csp_nonce": nonce})
    response["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
        "connect-src 'self'; img-src 'self'"
    )
    return response


def html_page(request: HttpRequest, name: str) -> HttpResponse:
    """Test-only: a live-HTML feed (``#items``) and page elements on ``page:<name>``."""
    from tests.channels import pages

    limit = int(request.GET.get("limit", "50"))
    return _with_csp(request, "html_page.html", {"ref": pages(name), "name": name, "limit": limit})


def run_status_page(request: HttpRequest, name: str) -> HttpResponse:
    """Test-only: the run-status widget of channel ``live:<name>`` (and a feed of its logs),
    under a strict Content-Security-Policy."""
    return _with_csp(request, "run_status_page.html", {"channel": f"live:{name}", "name": name})


def htmx_page(request: HttpRequest, name: str) -> HttpResponse:
    """Test-only: htmx's SSE extension on ``/v1/realtime/sse?format=html`` for ``page:<name>``."""
    from urllib.parse import urlencode

    from django_inngest_realtime import get_subscription_token
    from tests.channels import pages

    token = get_subscription_token(pages(name), ["html"], request=request)
    url = "/v1/realtime/sse?" + urlencode({"token": token["key"], "format": "html"})
    return _with_csp(request, "htmx_page.html", {"sse_url": url})


#: The npm files the htmx test page loads (tests/node/node_modules), and only those.
TEST_JS = {
    "htmx.org/dist/htmx.min.js",
    "htmx-ext-sse/dist/sse.min.js",
}


def test_js(request: HttpRequest, path: str) -> HttpResponse:
    """Test-only: serve the htmx files installed by ``npm install --prefix tests/node``."""
    from pathlib import Path

    if path not in TEST_JS:
        return HttpResponse(status=404)
    file = Path(__file__).resolve().parent / "node" / "node_modules" / path
    return HttpResponse(file.read_bytes(), content_type="text/javascript")


@csrf_exempt
async def publish_html_view(request: HttpRequest, name: str) -> JsonResponse:
    """Test-only: ``publish_html()`` each ``{action, target, template, context}`` of the body
    on ``page:<name>``, from inside the server."""
    from django_inngest_realtime import publish_html
    from tests.channels import pages

    sent = [
        await publish_html(
            pages(name),
            item["action"],
            item["target"],
            template=item.get("template"),
            context=item.get("context"),
        )
        for item in json.loads(request.body)
    ]
    return JsonResponse({"seqs": [m.seq for m in sent]})


def renders(request: HttpRequest) -> JsonResponse:
    """Test-only: how many times each counted template rendered in this process."""
    from tests.broadcast_app.templatetags.render_counter import renders as counted

    return JsonResponse(dict(counted))


@csrf_exempt
async def publish_raw_view(request: HttpRequest, name: str, topic: str) -> JsonResponse:
    """Test-only: hand each data item of the body straight to the broker, unvalidated (as a
    process with other channel definitions could)."""
    from django_inngest_realtime.brokers import get_broker
    from django_inngest_realtime.envelope import Message

    broker = get_broker()
    sent = [
        await broker.publish(Message(channel=name, topic=topic, data=item))
        for item in json.loads(request.body)
    ]
    return JsonResponse({"seqs": [m.seq for m in sent]})


async def loaded_modules(request: HttpRequest) -> JsonResponse:
    """Test-only: whether this server process has loaded Twisted and Daphne's server."""
    import sys

    return JsonResponse(
        {
            "twisted": sorted(m for m in sys.modules if m.split(".")[0] == "twisted"),
            "daphne.server": "daphne.server" in sys.modules,
        }
    )

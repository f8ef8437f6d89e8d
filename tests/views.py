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

    hub = get_hub()
    subscribers = {s for group in hub.members.values() for s in group}
    return JsonResponse(
        {
            "groups": hub.group_count(),
            "subscribers": sum(len(s) for s in hub.members.values()),
            "direct": sum(1 for s in subscribers if s.direct),
        }
    )


async def task_count(request: HttpRequest) -> JsonResponse:
    """Test-only: the tasks alive on the server's event loop (this request's included)."""
    import asyncio

    return JsonResponse({"tasks": len([t for t in asyncio.all_tasks() if not t.done()])})

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse

from django_inngest_realtime import subscribe


async def stream(request: HttpRequest, name: str) -> StreamingHttpResponse:
    since = request.GET.get("since")
    sub = await subscribe(
        name,
        topics=request.GET.getlist("topic") or None,
        since=int(since) if since is not None else None,
    )
    return sub.sse_response(keepalive=float(request.GET.get("keepalive", "15")))

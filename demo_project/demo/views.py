"""Demo views."""

from __future__ import annotations

import json
import uuid

import inngest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from demo_project.demo.channels import hello_channel
from demo_project.demo.inngest_functions import inngest_client
from django_inngest_realtime import subscribe


@csrf_exempt
@require_POST
async def hello(request: HttpRequest) -> HttpResponse:
    """Send ``hello-world/hello`` and answer with the run's ``logs`` as an event stream."""
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"error": "The body must be JSON."}, status=400)
    run_uuid = uuid.uuid4().hex
    # Subscribe from the channel's start before sending, so no message is missed.
    stream = await subscribe(hello_channel(run_uuid), topics=["logs"], since=0)
    try:
        await inngest_client.send(
            inngest.Event(
                name="hello-world/hello", data={"uuid": run_uuid, "prompt": body.get("prompt", "")}
            )
        )
    except Exception as exc:
        await stream.close()
        return JsonResponse({"error": f"Could not send the event to Inngest: {exc}"}, status=502)
    return stream.sse_response()

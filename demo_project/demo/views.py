"""Demo views: one page per pattern, plus the seed's ``POST /api/hello``."""

from __future__ import annotations

import json
import uuid

import inngest
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from demo_project.demo.channels import (
    STARTED_RUNS,
    hello_channel,
    job_channel,
    post_channel,
    started_here,
    story_channel,
)
from demo_project.demo.inngest_functions import inngest_client
from demo_project.demo.models import Post
from django_inngest_realtime import get_subscription_token, subscribe

MAX_PROMPT = 2000


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html")


def hello_page(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/hello.html")


async def _send(name: str, data: dict[str, object]) -> JsonResponse | None:
    try:
        await inngest_client.send(inngest.Event(name=name, data=data))
    except Exception as exc:
        return JsonResponse({"error": f"Could not send {name!r} to Inngest: {exc}"}, status=502)
    return None


@csrf_exempt  # an API endpoint for curl and scripts, as in Inngest's guide
@require_POST
async def hello(request: HttpRequest) -> HttpResponse:
    """Send ``hello-world/hello`` with the prompt; answer with the run's ``logs`` as a stream
    that ends when the run ends (its last event: the run's status, ``kind: "run"``)."""
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"error": "The body must be JSON."}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": 'Send a JSON object, such as {"prompt": "hi"}.'}, status=400)
    prompt = body.get("prompt", "")
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT:
        return JsonResponse(
            {"error": f"'prompt' must be a string of at most {MAX_PROMPT} characters."}, status=400
        )
    run_uuid = uuid.uuid4().hex
    await sync_to_async(started_here)(request, run_uuid)  # this session may watch the run
    # Subscribe from the channel's start before sending, so no message can be missed.
    stream = await subscribe(hello_channel(run_uuid), topics=["logs"], since=0, until_run_end=True)
    failed = await _send("hello-world/hello", {"uuid": run_uuid, "prompt": prompt})
    if failed is not None:
        await stream.close()
        return failed
    return stream.sse_response()


def posts(request: HttpRequest) -> HttpResponse:
    items = [(post, post_channel(post.pk)) for post in Post.objects.order_by("pk")]
    return render(request, "demo/posts.html", {"posts": items})


@require_POST
async def like(request: HttpRequest, post_id: int) -> HttpResponse:
    """Like a post through the ``post-like`` function (``post_id`` 0 sends no postId)."""
    if post_id and not await Post.objects.filter(pk=post_id).aexists():
        return JsonResponse({"error": f"No post {post_id}."}, status=404)
    failed = await _send("app/post.like", {"postId": str(post_id)} if post_id else {})
    if request.headers.get("Accept") == "application/json":
        return failed or JsonResponse({"sent": True})
    return failed or redirect("demo:posts")


def approvals(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/approvals.html")


@require_POST
async def approvals_start(request: HttpRequest) -> HttpResponse:
    """Start the agentic workflow (or, with ``kind=choices``, the one offering options); it
    asks on this page and in the admin."""
    choices = request.POST.get("kind") == "choices"
    failed = await _send("agentic-workflow/choices" if choices else "agentic-workflow/start", {})
    return failed or redirect("demo:approvals")


def story_page(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/story.html")


@require_POST
def _own_run_token(request: HttpRequest, run_uuid: str) -> dict[str, object]:
    """A token for the story run this session starts (its channel's ``authorize``)."""
    started_here(request, run_uuid)
    return get_subscription_token(story_channel(run_uuid), request=request)


async def story_start(request: HttpRequest) -> HttpResponse:
    """Start a story run; answer with a token for its channel."""
    run_uuid = uuid.uuid4().hex
    token = await sync_to_async(_own_run_token)(request, run_uuid)
    prompt = request.POST.get("prompt") or "a story"
    failed = await _send("demo/story.requested", {"uuid": run_uuid, "prompt": prompt[:200]})
    return failed or JsonResponse({"token": token})


def runs_page(request: HttpRequest) -> HttpResponse:
    """Run status: start a job; the page shows the last job this session started."""
    job = request.GET.get("job", "")
    mine = job in request.session.get(STARTED_RUNS, [])
    context = {"job": job_channel(job), "job_uuid": job} if mine else {}
    return render(request, "demo/runs.html", context)


@require_POST
async def runs_start(request: HttpRequest) -> HttpResponse:
    """Start a job (``fail=1``: one that fails) and show its page."""
    run_uuid = uuid.uuid4().hex
    await sync_to_async(started_here)(request, run_uuid)
    data = {"uuid": run_uuid, "fail": request.POST.get("fail") == "1"}
    failed = await _send("demo/job.requested", data)
    return failed or redirect(f"{reverse('demo:runs')}?job={run_uuid}")

"""The live-HTML pages: an activity feed rendered once per message, and the posts list kept
current by model broadcasts (``Post.live`` and ``Post.changes`` in ``models.py``)."""

from __future__ import annotations

import itertools

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from demo_project.demo.live_channels import activity_channel, posts_list_channel
from demo_project.demo.models import Post
from django_inngest_realtime import publish_html_sync

MAX_TEXT = 200
_ids = itertools.count(1)


def activity_page(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/activity.html", {"activity": activity_channel()})


@require_POST
def activity_post(request: HttpRequest) -> HttpResponse:
    """Render the note once, with ``demo/_activity.html``; every open page prepends it."""
    text = request.POST.get("text", "").strip()[:MAX_TEXT]
    if text:
        publish_html_sync(
            activity_channel(),
            "prepend",
            "activity",
            template="demo/_activity.html",
            context={
                "id": f"{timezone.now():%H%M%S}-{next(_ids)}",
                "text": text,
                "at": timezone.now(),
            },
        )
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"sent": bool(text)})
    return redirect("demo:activity")


def live_posts(request: HttpRequest) -> HttpResponse:
    posts = Post.objects.order_by("pk")
    return render(request, "demo/live_posts.html", {"posts": posts, "ref": posts_list_channel()})


def _done(request: HttpRequest) -> HttpResponse:
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"ok": True})
    return redirect("demo:live-posts")


@require_POST
def live_post_create(request: HttpRequest) -> HttpResponse:
    title = request.POST.get("title", "").strip()[:200]
    if title:
        Post.objects.create(title=title)  # broadcast on commit: created
    return _done(request)


@require_POST
def live_post_rename(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_object_or_404(Post, pk=post_id)
    title = request.POST.get("title", "").strip()[:200]
    if title:
        post.title = title
        post.save(update_fields=["title"])  # broadcast on commit: updated
    return _done(request)


@require_POST
def live_post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    get_object_or_404(Post, pk=post_id).delete()  # broadcast on commit: deleted
    return _done(request)

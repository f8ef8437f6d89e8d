from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

from benchmarks.server import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/publish", views.publish_view),
    path("bench/state", views.state_view),
    path("bench/tracemalloc", views.tracemalloc_view),
]
if settings.SERVER == "ours":
    urlpatterns.append(path("", include("django_inngest_realtime.urls")))
elif settings.SERVER == "eventstream":
    import django_eventstream

    urlpatterns.append(path("events/", include(django_eventstream.urls)))
if settings.SERVER == "ours" and settings.FUNCTIONS:
    from benchmarks.server.functions import functions, inngest_client
    from django_inngest_realtime.serve import serve_inngest

    urlpatterns.append(serve_inngest(inngest_client, functions))

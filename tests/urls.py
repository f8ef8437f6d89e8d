from __future__ import annotations

import inngest.django
from django.contrib import admin
from django.urls import include, path

from django_inngest_realtime import views as realtime_views
from tests import run_functions, views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stream/<str:name>", views.stream),
    path("test-publish/<str:name>/<str:topic>", views.publish_view),
    path("test-stream/<str:name>/<str:topic>", views.stream_view),
    path("widgets/<str:name>", views.widgets_page),
    path("confirmations-widget/<str:name>", views.confirmations_page),
    path("test-hub", views.hub_state),
    path("test-tasks", views.task_count),
    path("test-threads", views.thread_count),
    path("html-page/<str:name>", views.html_page),
    path("htmx-page/<str:name>", views.htmx_page),
    path("run-status-page/<str:name>", views.run_status_page),
    path("test-js/<path:path>", views.test_js),
    path("test-publish-html/<str:name>", views.publish_html_view),
    path("test-renders", views.renders),
    path("test-publish-raw/<str:name>/<str:topic>", views.publish_raw_view),
    path("test-modules", views.loaded_modules),
    # The SSE view, which tests.asgi serves in front of Django at /v1/realtime/sse.
    path("django-view/v1/realtime/sse", realtime_views.sse),
    # The run-status functions (tests/test_run_status_live.py), in dev mode: not through
    # serve_inngest(), whose system check would warn of dev mode in the checks' tests.
    inngest.django.serve(run_functions.inngest_client, run_functions.functions),
    path("", include("django_inngest_realtime.urls")),
]

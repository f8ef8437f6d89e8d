from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stream/<str:name>", views.stream),
    path("test-publish/<str:name>/<str:topic>", views.publish_view),
    path("test-stream/<str:name>/<str:topic>", views.stream_view),
    path("widgets/<str:name>", views.widgets_page),
    path("confirmations-widget/<str:name>", views.confirmations_page),
    path("test-hub", views.hub_state),
    path("test-tasks", views.task_count),
    path("html-page/<str:name>", views.html_page),
    path("htmx-page/<str:name>", views.htmx_page),
    path("test-js/<path:path>", views.test_js),
    path("test-publish-html/<str:name>", views.publish_html_view),
    path("test-renders", views.renders),
    path("test-publish-raw/<str:name>/<str:topic>", views.publish_raw_view),
    path("test-modules", views.loaded_modules),
    path("", include("django_inngest_realtime.urls")),
]

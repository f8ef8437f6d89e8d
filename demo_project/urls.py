from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from demo_project.demo.inngest_functions import functions, inngest_client
from django_inngest_realtime.serve import serve_inngest

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django_inngest_realtime.urls")),
    serve_inngest(inngest_client, functions),
    path("", include("demo_project.demo.urls")),
]

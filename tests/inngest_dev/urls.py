from __future__ import annotations

from django.urls import include, path

from django_inngest_realtime.serve import serve_inngest
from tests.inngest_dev.app_functions import functions, inngest_client

urlpatterns = [
    path("", include("django_inngest_realtime.urls")),
    serve_inngest(inngest_client, functions),
]

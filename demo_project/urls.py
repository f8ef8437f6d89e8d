from __future__ import annotations

import inngest.django
from django.contrib import admin
from django.urls import include, path

from demo_project.demo.inngest_functions import functions, inngest_client

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django_inngest_realtime.urls")),
    inngest.django.serve(inngest_client, functions),
    path("", include("demo_project.demo.urls")),
]

from __future__ import annotations

import inngest.django
from django.contrib import admin
from django.urls import path

from demo_project.demo import views
from demo_project.demo.inngest_functions import functions, inngest_client

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/hello", views.hello),
    inngest.django.serve(inngest_client, functions),
]

from __future__ import annotations

import inngest.django
from django.urls import path

from tests import views
from tests.inngest_double import app_functions

urlpatterns = [
    inngest.django.serve(app_functions.inngest_client, app_functions.functions),
    path("stream/<str:name>", views.stream),
    path("send/<path:name>", app_functions.send_view),
]

"""HTTP routes: ``path("", include("django_inngest_realtime.urls"))`` at the site root.

Inngest's JavaScript client builds ``<apiBaseUrl>/v1/realtime/...`` URLs, so mount these
at the root of the host that ``apiBaseUrl`` names.
"""

from __future__ import annotations

from django.urls import path

from django_inngest_realtime import views
from django_inngest_realtime.confirmations import views as confirmation_views

app_name = "django_inngest_realtime"

urlpatterns = [
    path("v1/realtime/sse", views.sse, name="sse"),
    path("v1/realtime/presence", views.presence_view, name="presence"),
    path("v1/realtime/token", views.inngest_token, name="token"),
    path("v1/realtime/token/refresh", views.token_refresh, name="token_refresh"),
    path("confirmations/<uuid:token>/", confirmation_views.detail, name="confirmation"),
    path(
        "confirmations/<uuid:token>/decide",
        confirmation_views.decide_api,
        name="confirmation-decide",
    ),
]

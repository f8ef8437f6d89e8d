"""Confirmation page and decision API: ``path("confirmations/", include(...))``."""

from __future__ import annotations

from django.urls import path

from django_inngest_realtime.confirmations import views

app_name = "django_inngest_realtime_confirmations"

urlpatterns = [
    path("<uuid:token>/", views.detail, name="detail"),
    path("<uuid:token>/decide", views.decide_api, name="decide"),
]

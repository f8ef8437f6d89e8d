from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InngestRealtimeConfig(AppConfig):
    name = "django_inngest_realtime"
    verbose_name = _("Inngest Realtime")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # run_channels: each run's status channel ($run:<run_id>) is subscribable.
        from django_inngest_realtime import checks, conf, run_channels  # noqa: F401
        from django_inngest_realtime.transports import redaction

        redaction.install()  # keep subscription keys out of the servers' access logs

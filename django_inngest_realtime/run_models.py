"""Models of Inngest runs' status (``run_status.py``), re-exported by ``models.py``."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RunRecord(models.Model):
    """An Inngest function run's status, so its lifecycle messages go out once
    (``run_status.py``)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    run_id = models.CharField(_("run id"), max_length=128, unique=True)
    fn_id = models.CharField(_("function id"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")

    def __str__(self) -> str:
        return f"{self.fn_id} {self.run_id} ({self.status})"


class RunTarget(models.Model):
    """A (channel, topic) a run published on: where its status messages go."""

    run_id = models.CharField(_("run id"), max_length=128)
    #: SHA-256 of channel and topic: names may be longer than an index allows.
    key = models.CharField(_("key"), max_length=64)
    channel = models.TextField(_("channel"))
    topic = models.TextField(_("topic"))

    class Meta:
        verbose_name = _("run target")
        verbose_name_plural = _("run targets")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["run_id", "key"], name="inngest_rt_run_target_once")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} -> {self.channel} / {self.topic}"

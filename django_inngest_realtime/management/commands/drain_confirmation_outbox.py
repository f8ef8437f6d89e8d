"""``manage.py drain_confirmation_outbox [--loop]``: send undelivered confirmation replies."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from django_inngest_realtime.confirmations.outbox import drain


class Command(BaseCommand):
    help = (
        "Send the confirmation reply events that are due and not yet delivered to Inngest. "
        "With --loop, keep doing so every --interval seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep draining until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between passes with --loop."
        )
        parser.add_argument("--limit", type=int, default=100, help="Most replies per pass.")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="force",
            help="Also send replies still waiting out their retry backoff (Inngest is back).",
        )

    def handle(
        self, *args: Any, loop: bool, interval: float, limit: int, force: bool, **options: Any
    ) -> None:
        while True:
            close_old_connections()
            result = drain(limit=limit, force=force)
            if result.delivered or result.failed or not loop:
                self.stdout.write(
                    f"Delivered {result.delivered}, failed {result.failed}, "
                    f"{result.pending} still pending."
                )
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return

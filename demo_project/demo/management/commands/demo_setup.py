"""Create the demo superuser and sample posts (local development only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo_project.demo.models import Post

USERNAME, PASSWORD = "admin", "admin"


class Command(BaseCommand):
    help = "Create the demo superuser (admin / admin, for local use only) and sample posts."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if not User.objects.filter(username=USERNAME).exists():
            User.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
            self.stdout.write(f"Created superuser {USERNAME!r} with password {PASSWORD!r}.")
        for title in ("Realtime in Django", "Durable functions with Inngest", "Hello, world"):
            Post.objects.get_or_create(title=title)
        self.stdout.write(f"{Post.objects.count()} posts ready.")

from __future__ import annotations

from django.db import models
from django.db.models import F


class Post(models.Model):
    title = models.CharField(max_length=200)
    likes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.title

    @classmethod
    def like(cls, post_id: int) -> int:
        """Add one like atomically; return the new count."""
        updated = cls.objects.filter(pk=post_id).update(likes=F("likes") + 1)
        if not updated:
            raise cls.DoesNotExist(f"No post {post_id}")
        return cls.objects.values_list("likes", flat=True).get(pk=post_id)

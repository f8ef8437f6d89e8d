from __future__ import annotations

from django.db import models
from django.db.models import F

from demo_project.demo.live_channels import PostOut, posts_list_channel
from django_inngest_realtime.broadcasts import HTMLBroadcast, JSONBroadcast


class Post(models.Model):
    title = models.CharField(max_length=200)
    likes = models.PositiveIntegerField(default=0)

    # Every save and delete, on commit: live HTML for /live-posts/, JSON for its log.
    live = HTMLBroadcast(
        lambda post: posts_list_channel(), template="demo/_post.html", target="post-list"
    )
    changes = JSONBroadcast(lambda post: posts_list_channel(), topic="changes", schema=PostOut)

    def __str__(self) -> str:
        return self.title

    @classmethod
    def like(cls, post_id: int) -> int:
        """Add one like atomically; return the new count."""
        updated = cls.objects.filter(pk=post_id).update(likes=F("likes") + 1)
        if not updated:
            raise cls.DoesNotExist(f"No post {post_id}")
        return cls.objects.values_list("likes", flat=True).get(pk=post_id)

"""Presence on the ``channels`` broker: members and process beats in the database."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from django_inngest_realtime.brokers.base import Beat, Member, channel_key


class DatabasePresence:
    """Synchronous: the broker runs it in its database thread."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl

    def join(self, channel: str, member: Member, process: str) -> None:
        from django_inngest_realtime.models import PresenceMember, PresenceProcess

        now = timezone.now()
        with transaction.atomic():
            PresenceProcess.objects.update_or_create(process=process, defaults={"beat_at": now})
            PresenceMember.objects.update_or_create(
                member_id=member.id,
                defaults={
                    "channel_key": channel_key(channel),
                    "channel": channel,
                    "user": member.user or "",
                    "joined_at": datetime.datetime.fromisoformat(member.joined_at),
                    "process": process,
                },
            )

    def leave(self, channel: str, member_id: str, process: str) -> None:
        from django_inngest_realtime.models import PresenceMember

        PresenceMember.objects.filter(member_id=member_id).delete()

    def members(self, channel: str) -> list[Member]:
        from django_inngest_realtime.models import PresenceMember, PresenceProcess

        alive = PresenceProcess.objects.filter(beat_at__gte=self._cutoff()).values("process")
        rows = PresenceMember.objects.filter(
            channel_key=channel_key(channel), process__in=alive
        ).order_by("joined_at", "member_id")
        return [_member(row) for row in rows]

    def beat(self, process: str) -> Beat:
        from django_inngest_realtime.models import PresenceMember, PresenceProcess

        now, cutoff = timezone.now(), self._cutoff()
        revived = not PresenceProcess.objects.filter(process=process).update(beat_at=now)
        if revived:
            PresenceProcess.objects.get_or_create(process=process, defaults={"beat_at": now})
        gone: list[tuple[str, Member]] = []
        dead = PresenceProcess.objects.filter(beat_at__lt=cutoff).values_list("process", flat=True)
        for other in list(dead):
            with transaction.atomic():
                # One process wins the sweep of each dead one: the row's delete.
                if not PresenceProcess.objects.filter(process=other, beat_at__lt=cutoff).delete()[
                    0
                ]:
                    continue
                rows = list(PresenceMember.objects.filter(process=other))
                PresenceMember.objects.filter(process=other).delete()
            gone += [(row.channel, _member(row)) for row in rows]
        return Beat(gone, revived)

    def _cutoff(self) -> datetime.datetime:
        return timezone.now() - datetime.timedelta(seconds=self.ttl)


def _member(row: object) -> Member:
    return Member(
        id=row.member_id,  # type: ignore[attr-defined]
        user=row.user or None,  # type: ignore[attr-defined]
        joined_at=row.joined_at.isoformat(),  # type: ignore[attr-defined]
    )

"""Test-only models that broadcast their changes."""

from __future__ import annotations

from django.db import models

from django_inngest_realtime.broadcasts import HTMLBroadcast, JSONBroadcast
from tests.broadcast_app.channels import NoteOut, board_channel


class Board(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=200)

    changes = JSONBroadcast(
        lambda note: board_channel(note.board_id), topic="notes", schema=NoteOut
    )
    live = HTMLBroadcast(
        lambda note: board_channel(note.board_id),
        template="broadcast_app/note.html",
        target=lambda note: f"board-{note.board_id}-notes",
    )

    def __str__(self) -> str:
        return self.text


class PinnedNote(Note):
    """A proxy: saving through it broadcasts what ``Note`` declares."""

    class Meta:
        proxy = True

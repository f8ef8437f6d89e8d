"""Signals sent by the app."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after a message was published; ``message`` is the :class:`~.envelope.Message`.
message_published = Signal()

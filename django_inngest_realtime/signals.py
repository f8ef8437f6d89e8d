"""Signals sent by the app."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after a message was published; ``message`` is the :class:`~.envelope.Message`.
#: Async receivers are awaited (``asend``) by ``publish()``, sync ones run in a thread;
#: a receiver that raises is logged (``django.dispatch``) and never fails or repeats the publish.
message_published = Signal()

#: Sent after commit when an Inngest function asked for a confirmation (once per confirmation,
#: not on replays); ``confirmation`` is the :class:`~.models.Confirmation`.
confirmation_requested = Signal()

#: Sent after commit when a person approved, rejected or cancelled a confirmation;
#: ``confirmation``, ``decision`` (a :class:`~.confirmations.Decision`) and ``user``.
confirmation_decided = Signal()

#: Sent after commit when a confirmation expired undecided; ``confirmation``.
confirmation_expired = Signal()

"""The outbox: reply events to Inngest and notices to assignees, sent on commit and retried
with backoff until delivered.

A reply row is written in the transaction that records the decision; notice rows in the
one that creates the confirmation (a reminder's row is due before ``expires_at``).
Delivery claims a row with a conditional update (a short lease), so the on-commit send,
the background retrier and any number of ``drain_confirmation_outbox`` processes can run
at once; the reply's event id is derived from the confirmation's token, so Inngest drops
the rare duplicate a crashed sender may leave.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import inngest
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from django_inngest_realtime.client import get_inngest_client
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.confirmations import notifiers
from django_inngest_realtime.locked import when_unlocked
from django_inngest_realtime.models import ConfirmationNotice, ConfirmationReply

logger = logging.getLogger("django_inngest_realtime.confirmations")

#: How long a sender owns a claimed row; after that another sender may try it again.
LEASE = datetime.timedelta(minutes=2)
Row = ConfirmationReply | ConfirmationNotice


def reply_event_id(token: object) -> str:
    """The reply event's id: Inngest deduplicates events by it."""
    return f"confirmation-decided-{token}"


def backoff(attempts: int) -> datetime.timedelta:
    """Delay before the next attempt after ``attempts`` failed ones (exponential, capped)."""
    config = get_config()
    seconds = config.OUTBOX_RETRY_BASE * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, config.OUTBOX_RETRY_MAX))


def _send_reply(reply: ConfirmationReply) -> None:
    event = inngest.Event(id=reply.event_id, name=reply.name, data=reply.data)
    get_inngest_client().send_sync(event)


def _deliver(
    model: type[Row], pk: int, send: Callable[[Any], None], *, force: bool = False
) -> bool:
    now = timezone.now()
    rows = model._default_manager.filter(pk=pk, delivered_at__isnull=True)
    if not force:
        rows = rows.filter(next_attempt_at__lte=now)
    claimed = rows.update(next_attempt_at=now + LEASE)
    if not claimed:
        return False
    row = model._default_manager.get(pk=pk)
    try:
        send(row)
    except Exception as exc:
        delay = backoff(row.attempts + 1)
        _record(
            model,
            pk,
            attempts=F("attempts") + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + delay,
        )
        logger.warning(
            "Could not send %s %s (attempt %d, next in %.1fs): %s",
            model._meta.verbose_name,
            getattr(row, "event_id", row),
            row.attempts + 1,
            delay.total_seconds(),
            exc,
        )
        return False
    _record(model, pk, attempts=F("attempts") + 1, delivered_at=timezone.now(), last_error="")
    return True


def _record(model: type[Row], pk: int, **fields: Any) -> None:
    """Record what a send did. It has happened: a lost record would send it again once the
    lease ends, so SQLite's "database is locked" (a concurrent writer) is waited out."""
    when_unlocked(lambda: model._default_manager.filter(pk=pk).update(**fields))


def deliver(pk: int, *, force: bool = False) -> bool:
    """Send one reply if it is due and nobody else is sending it; True when delivered now.

    ``force`` skips the wait for its backoff (and another sender's lease).
    """
    return _deliver(ConfirmationReply, pk, _send_reply, force=force)


def deliver_notice(pk: int, *, force: bool = False) -> bool:
    """Send one notice if it is due and nobody else is sending it; True when handled now."""
    return _deliver(ConfirmationNotice, pk, notifiers.deliver, force=force)


#: Each kind of row: its model, how one is sent, and which undelivered rows ``force``
#: sends before they are due (every reply; no reminder that was never tried).
BOXES: tuple[tuple[type[Row], Callable[..., bool], Q], ...] = (
    (ConfirmationReply, deliver, Q(pk__isnull=False)),
    (ConfirmationNotice, deliver_notice, ~Q(kind=ConfirmationNotice.Kind.REMINDER, attempts=0)),
)


@dataclasses.dataclass(frozen=True)
class DrainResult:
    """What one pass over the outbox did."""

    delivered: int
    failed: int
    #: Rows still undelivered after the pass (due later, or being sent elsewhere).
    pending: int


def _drain(
    box: tuple[type[Row], Callable[..., bool], Q], limit: int, force: bool
) -> tuple[int, int, int]:
    model, send, forceable = box
    now = timezone.now()
    undelivered = model._default_manager.filter(delivered_at__isnull=True)
    if force:
        due = undelivered.filter(Q(next_attempt_at__lte=now) | forceable)
    else:
        due = undelivered.filter(next_attempt_at__lte=now)
    delivered = failed = 0
    for pk in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]):
        if send(pk, force=force):
            delivered += 1
        elif undelivered.filter(pk=pk).exists():
            failed += 1
    return delivered, failed, undelivered.count()


def drain(limit: int = 100, *, force: bool = False) -> DrainResult:
    """Try every due, undelivered reply and notice (at most ``limit`` of each), oldest first.

    ``force`` also tries those still waiting out a retry backoff (not reminders before
    their time).
    """
    counts = [_drain(box, limit, force) for box in BOXES]
    return DrainResult(*(sum(column) for column in zip(*counts, strict=True)))


def send_now(pk: int) -> None:
    """On commit of a decision: send its reply, then other due ones; schedule retries."""
    if deliver(pk):
        # Inngest answers: send the replies earlier outages left behind, a few at a time
        # (notices are left to the retrier: a decision never waits on a mail server).
        _drain(BOXES[0], 10, False)
    retrier.schedule(_next_due_in())


def notify_now() -> None:
    """On commit of new notice rows: have this process's retrier send them now."""
    retrier.schedule(0.0)


def _next_due_in() -> float | None:
    """Seconds until the earliest undelivered row is due; ``None`` if there is none."""
    firsts = [
        model._default_manager.filter(delivered_at__isnull=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
        for model, _, _ in BOXES
    ]
    due = [first for first in firsts if first is not None]
    if not due:
        return None
    return max((min(due) - timezone.now()).total_seconds(), 0.0)


class Retrier:
    """One background thread per process that drains the outbox while rows are pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._due = 0.0
        self._kicked = False
        self._stopping = False

    def schedule(self, delay: float | None) -> None:
        """Drain after ``delay`` seconds (or sooner if already scheduled sooner)."""
        if delay is None:
            return
        with self._lock:
            due = time.monotonic() + delay
            self._kicked = True
            if self._thread is None:
                self._due = due
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="inngest-rt-outbox", daemon=True
                )
                self._thread.start()
            elif due < self._due:
                self._due = due
                self._wake.set()

    def stop(self) -> None:
        """Stop the thread (tests, shutdown); undelivered rows stay in the outbox."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._stopping:
                    self._thread = None
                    return
                wait = self._due - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            with self._lock:
                self._kicked = False
            try:
                drain()
                next_in = _next_due_in()
                failures = 0
            except Exception:
                logger.exception("Draining the confirmation outbox failed")
                # A database hiccup (SQLite's "locked"): try again soon, then back off.
                failures += 1
                next_in = backoff(failures).total_seconds()
            finally:
                connections.close_all()
            with self._lock:
                if self._stopping or (next_in is None and not self._kicked):
                    self._thread = None
                    return
                self._due = time.monotonic() + max(next_in or 0.0, 0.05)


#: The process's retrier.
retrier = Retrier()

"""The outbox of reply events: sent on commit, retried with backoff until Inngest has them.

A reply row is written in the transaction that records the decision. Delivery claims
the row with a conditional update (a short lease), so the on-commit send, the
background retrier and any number of ``drain_confirmation_outbox`` processes can run
at once; the event id is derived from the confirmation's token, so Inngest drops the
rare duplicate a crashed sender may leave.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time

import inngest
from django.db import connections
from django.db.models import F
from django.utils import timezone

from django_inngest_realtime.client import get_inngest_client
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.models import ConfirmationReply

logger = logging.getLogger("django_inngest_realtime.confirmations")

#: How long a sender owns a claimed row; after that another sender may try it again.
LEASE = datetime.timedelta(minutes=2)


def reply_event_id(token: object) -> str:
    """The reply event's id: Inngest deduplicates events by it."""
    return f"confirmation-decided-{token}"


def backoff(attempts: int) -> datetime.timedelta:
    """Delay before the next attempt after ``attempts`` failed ones (exponential, capped)."""
    config = get_config()
    seconds = config.OUTBOX_RETRY_BASE * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, config.OUTBOX_RETRY_MAX))


def deliver(pk: int, *, force: bool = False) -> bool:
    """Send one reply if it is due and nobody else is sending it; True when delivered now.

    ``force`` skips the wait for its backoff (and another sender's lease).
    """
    now = timezone.now()
    rows = ConfirmationReply.objects.filter(pk=pk, delivered_at__isnull=True)
    if not force:
        rows = rows.filter(next_attempt_at__lte=now)
    claimed = rows.update(next_attempt_at=now + LEASE)
    if not claimed:
        return False
    reply = ConfirmationReply.objects.get(pk=pk)
    try:
        event = inngest.Event(id=reply.event_id, name=reply.name, data=reply.data)
        get_inngest_client().send_sync(event)
    except Exception as exc:
        delay = backoff(reply.attempts + 1)
        ConfirmationReply.objects.filter(pk=pk).update(
            attempts=F("attempts") + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + delay,
        )
        logger.warning(
            "Could not send confirmation reply %s to Inngest (attempt %d, next in %.1fs): %s",
            reply.event_id,
            reply.attempts + 1,
            delay.total_seconds(),
            exc,
        )
        return False
    ConfirmationReply.objects.filter(pk=pk).update(
        attempts=F("attempts") + 1, delivered_at=timezone.now(), last_error=""
    )
    return True


@dataclasses.dataclass(frozen=True)
class DrainResult:
    """What one pass over the outbox did."""

    delivered: int
    failed: int
    #: Replies still undelivered after the pass (due later, or being sent elsewhere).
    pending: int


def drain(limit: int = 100, *, force: bool = False) -> DrainResult:
    """Try every due, undelivered reply (at most ``limit``), oldest first; ``force``: all."""
    due = ConfirmationReply.objects.filter(delivered_at__isnull=True)
    if not force:
        due = due.filter(next_attempt_at__lte=timezone.now())
    delivered = failed = 0
    for pk in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]):
        if deliver(pk, force=force):
            delivered += 1
        elif ConfirmationReply.objects.filter(pk=pk, delivered_at__isnull=True).exists():
            failed += 1
    pending = ConfirmationReply.objects.filter(delivered_at__isnull=True).count()
    return DrainResult(delivered, failed, pending)


def send_now(pk: int) -> None:
    """On commit of a decision: send its reply, then other due ones; schedule retries."""
    if deliver(pk):
        # Inngest answers: send what earlier outages left behind, a few at a time.
        if drain(limit=10).pending:
            retrier.schedule(_next_due_in())
    else:
        retrier.schedule(_next_due_in())


def _next_due_in() -> float | None:
    """Seconds until the earliest undelivered reply is due; ``None`` if there is none."""
    first = (
        ConfirmationReply.objects.filter(delivered_at__isnull=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return max((first - timezone.now()).total_seconds(), 0.0)


class Retrier:
    """One background thread per process that drains the outbox while replies are pending."""

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
        """Stop the thread (tests, shutdown); undelivered replies stay in the outbox."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
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
            except Exception:
                logger.exception("Draining the confirmation outbox failed")
                next_in = get_config().OUTBOX_RETRY_MAX
            finally:
                connections.close_all()
            with self._lock:
                if self._stopping or (next_in is None and not self._kicked):
                    self._thread = None
                    return
                self._due = time.monotonic() + max(next_in or 0.0, 0.05)


#: The process's retrier.
retrier = Retrier()

"""Concurrent decisions from threads and processes: exactly one wins, one reply is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

from django_inngest_realtime.confirmations import AlreadyDecided, decide, outbox
from django_inngest_realtime.models import Confirmation, ConfirmationReply

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="SQLite serializes writers and has no row locks; concurrent deciders are tested "
        "on PostgreSQL (INNGEST_REALTIME_TEST_CONFIG=scaled)",
    ),
]
N = 8


def in_threads(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    barrier = threading.Barrier(len(args))
    results: list[Any] = [None] * len(args)

    def work(i: int, *a: Any) -> None:
        try:
            barrier.wait()
            results[i] = target(*a)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, *a)) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def check_one_winner(c: Confirmation, winners: list[str], losers: list[AlreadyDecided], event_api):
    c.refresh_from_db()
    assert len(winners) == 1
    assert c.status == "approved" and c.decided_by.username == winners[0]
    assert all(e.decided_by == winners[0] for e in losers)
    assert ConfirmationReply.objects.count() == 1
    assert [e["data"]["decided_by"] for e in event_api.received()] == winners


def test_concurrent_decisions_in_threads(make_user, make_confirmation, event_api):
    users = [make_user(f"user{i}") for i in range(N)]
    c = make_confirmation()

    results = in_threads(lambda u: decide(c.token, approved=True, user=u), [(u,) for u in users])

    winners = [r.decided_by for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(winners) + len(losers) == N, results
    check_one_winner(c, winners, losers, event_api)


def test_concurrent_decisions_in_processes(make_user, make_confirmation, event_api, tmp_path):
    for i in range(N):
        make_user(f"proc{i}")
    c = make_confirmation()
    go = tmp_path / "go"
    env = {
        **os.environ,
        "TEST_PG_NAME": connection.settings_dict["NAME"],
        "CONFIRMATIONS_TEST_EVENT_API": event_api.url,
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.confirmations.decide_worker",
                str(c.token),
                f"proc{i}",
                str(go),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(N)
    ]
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    winners = [r["by"] for r in results if r["won"]]
    losers = [
        AlreadyDecided(str(c.token), "approved", r["by"], None) for r in results if not r["won"]
    ]
    check_one_winner(c, winners, losers, event_api)


def test_concurrent_drains_send_each_reply_once(make_user, make_confirmation, event_api, settings):
    configured = settings.INNGEST_REALTIME
    # No client configured: every on-commit send fails at once and the replies stay pending.
    settings.INNGEST_REALTIME = {**configured, "INNGEST_CLIENT": "", "OUTBOX_RETRY_BASE": 3600.0}
    alice = make_user("alice")
    tokens = []
    for _ in range(3):
        c = make_confirmation()
        decide(c.token, approved=True, user=alice)
        tokens.append(str(c.token))
    outbox.retrier.stop()
    assert ConfirmationReply.objects.filter(delivered_at__isnull=True).count() == 3
    settings.INNGEST_REALTIME = configured
    ConfirmationReply.objects.update(next_attempt_at=Confirmation.objects.first().requested_at)

    results = in_threads(outbox.drain, [() for _ in range(N)])

    assert sum(r.delivered for r in results) == 3
    assert sorted(e["data"]["token"] for e in event_api.received()) == sorted(tokens)

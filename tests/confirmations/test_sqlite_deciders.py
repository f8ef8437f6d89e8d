"""Concurrent deciders on SQLite with Django's default settings (the embedded default): one
decision wins, every other one is a 409 naming the winner, none is a 500."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer

DECIDERS = 10
ROUNDS = 5
CSRF = "k" * 32

SETUP = """
import datetime
import json
import django
django.setup()
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.utils import timezone
from django_inngest_realtime.models import Confirmation

call_command("migrate", verbosity=0)
perm = Permission.objects.get(codename="decide_confirmation")
sessions = []
for i in range(int(__import__("sys").argv[1])):
    user = User.objects.create_user(f"decider{i}")
    user.user_permissions.add(perm)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
later = timezone.now() + datetime.timedelta(hours=1)
tokens = [
    str(
        Confirmation.objects.create(
            message="Go?", channel="c", topic="t", event_name="e", expires_at=later
        ).token
    )
    for _ in range(int(__import__("sys").argv[2]))
]
print(json.dumps({"sessions": sessions, "tokens": tokens}))
"""


@pytest.fixture
def sqlite_server(tmp_path: Path) -> tuple[DaphneServer, dict[str, list[str]]]:
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "INNGEST_REALTIME_TEST_CONFIG": "embedded",
        "TEST_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SETUP, str(DECIDERS), str(ROUNDS)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    made = json.loads(done.stdout.strip().splitlines()[-1])
    server = DaphneServer("tests.asgi:application", env=env, log_path=str(tmp_path / "log"))
    server.start()
    yield server, made
    server.stop()


async def test_ten_deciders_at_once_one_wins_the_rest_409(
    sqlite_server: tuple[DaphneServer, dict[str, list[str]]],
) -> None:
    server, made = sqlite_server
    clients = [
        httpx.AsyncClient(
            base_url=server.url,
            cookies={"sessionid": key, "csrftoken": CSRF},
            headers={"X-CSRFToken": CSRF},
            timeout=60,
        )
        for key in made["sessions"]
    ]
    try:
        for token in made["tokens"]:
            answers = await asyncio.gather(
                *(
                    c.post(f"/confirmations/{token}/decide", json={"approved": True})
                    for c in clients
                )
            )
            codes = sorted(a.status_code for a in answers)
            assert codes == [200] + [409] * (DECIDERS - 1), [a.text[:200] for a in answers]
            winner = next(a.json()["decided_by"] for a in answers if a.status_code == 200)
            assert {a.json()["decided_by"] for a in answers if a.status_code == 409} == {winner}
    finally:
        for client in clients:
            await client.aclose()

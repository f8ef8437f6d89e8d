"""Every supported ASGI server, smoke-tested: Daphne, uvicorn and Hypercorn (docs/scaling.md).

Each runs ``tests.asgi`` in a child process; uvicorn and Hypercorn without ``"daphne"`` in
``INSTALLED_APPS`` (``TEST_WITHOUT_DAPHNE=1``), as the docs say to run them. The tests of
one server run in order on one process, and the last one checks that the process never
loaded Twisted under uvicorn or Hypercorn. The servers share the test run's database (a
SQLite file in the embedded configuration) and broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.asgi_servers import HypercornServer, UvicornServer
from tests.confirmations.stub import EventStub
from tests.conftest import child_env, post_publish
from tests.keys import token_for, unique
from tests.test_live import read_sse

# The servers use the test database pytest-django makes (PostgreSQL configurations);
# transactional, so what the servers write there is flushed after each test.
pytestmark = pytest.mark.django_db(transaction=True)
pytest.importorskip("uvicorn", reason="pip install uvicorn (in the test extra)")
pytest.importorskip("hypercorn", reason="pip install hypercorn (in the test extra)")

SERVERS: dict[str, type[DaphneServer]] = {
    "daphne": DaphneServer,
    "uvicorn": UvicornServer,
    "hypercorn": HypercornServer,
}
SEED = """
import datetime, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.models import Confirmation
User = get_user_model()
if not User.objects.filter(username="ann").exists():
    User.objects.create_superuser("ann", "ann@example.com", "pw")
print(Confirmation.objects.create(
    title="Ship it?", message="Confirm to proceed?", channel=sys.argv[1], topic="messages",
    event_name=get_config().CONFIRMATION_EVENT,
    expires_at=timezone.now() + datetime.timedelta(hours=1),
).token)
"""


def run_django(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def event_api() -> Iterator[EventStub]:
    """Where the servers send confirmation replies (Inngest's Event API)."""
    stub = EventStub()
    stub.up()
    yield stub
    stub.down()


@pytest.fixture(scope="module")
def server_env(
    tmp_path_factory: pytest.TempPathFactory, event_api: EventStub, django_db_setup: None
) -> dict[str, str]:
    env = {
        **os.environ,
        **child_env(),  # PostgreSQL: the test database
        "TEST_SQLITE_PATH": str(tmp_path_factory.mktemp("servers") / "db.sqlite3"),
        "TEST_INNGEST_CLIENT": "tests.confirmations.inngest_app.reply_client",
        "CONFIRMATIONS_TEST_EVENT_API": event_api.url,
    }
    if "TEST_PG_NAME" not in env:  # SQLite: a file the servers share, migrated here
        run_django("-m", "django", "migrate", "--noinput", "-v", "0", env=env)
    return env


@pytest.fixture(scope="module", params=list(SERVERS))
def served(
    request: pytest.FixtureRequest,
    server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DaphneServer]:
    env = dict(server_env)
    if request.param != "daphne":
        env["TEST_WITHOUT_DAPHNE"] = "1"  # daphne's app config imports Twisted
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    server = SERVERS[request.param]("tests.asgi:application", env=env, log_path=str(log))
    server.start()
    yield server
    server.stop()


def kind(server: DaphneServer) -> str:
    return server.server_name.lower()


def key(server: DaphneServer, name: str, **kwargs: Any) -> str:
    return str(token_for(server, name, **kwargs)["key"])


async def test_websocket_subscribe(served: DaphneServer) -> None:
    name = unique(f"ws-{kind(served)}")
    url = f"{served.ws_url}/v1/realtime/connect?token={key(served, name, topics=['logs'])}"
    async with websockets.connect(url) as ws:
        await post_publish(served, name, ["a", "b"])
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
        async with httpx.AsyncClient(timeout=10) as client:
            hub = (await client.get(f"{served.url}/test-hub")).json()
    assert [(f["channel"], f["topic"], f["data"]) for f in frames] == [
        (name, "logs", "a"),
        (name, "logs", "b"),
    ]
    # Direct writes to the socket are Daphne's; the others take the ASGI send path.
    assert hub["direct"] == (1 if kind(served) == "daphne" else 0)
    # ...and there the hub hands live frames to the server's send itself.
    assert hub["through_send"] == (0 if kind(served) == "daphne" else 1)


async def test_websocket_refuses_a_bad_token_before_the_upgrade(served: DaphneServer) -> None:
    """401 with a JSON body where the server implements ``websocket.http.response``;
    Daphne does not, and answers 403 to a handshake closed before accept."""
    url = f"{served.ws_url}/v1/realtime/connect?token=forged:abc:def"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    response = refused.value.response
    if kind(served) == "daphne":
        assert response.status_code == 403
    else:
        assert response.status_code == 401 and json.loads(response.body)["code"] == 4401


async def test_websocket_resumes_from_since(served: DaphneServer) -> None:
    name = unique(f"ws-resume-{kind(served)}")
    seqs = await post_publish(served, name, ["x", "y", "z"])
    token = key(served, name, topics=["logs"])
    url = f"{served.ws_url}/v1/realtime/connect?token={token}&since={seqs[0]}"
    async with websockets.connect(url) as ws:
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
    assert [(f["seq"], f["data"]) for f in frames] == [(seqs[1], "y"), (seqs[2], "z")]


async def test_sse_then_resume_with_last_event_id(served: DaphneServer) -> None:
    name = unique(f"sse-{kind(served)}")
    seqs = await post_publish(served, name, ["one", "two"])
    url, params = f"{served.url}/v1/realtime/sse", {"token": key(served, name), "since": "0"}
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", url, params=params) as res:
            assert res.status_code == 200
            assert res.headers["content-type"].startswith("text/event-stream")
            events = await read_sse(res, 2)
        later = await post_publish(served, name, ["three"])
        headers = {"Last-Event-ID": str(seqs[-1])}
        async with client.stream("GET", url, params=params, headers=headers) as res:
            resumed = await read_sse(res, 1)
    assert [(e["id"], json.loads(e["data"])["data"]) for e in events + resumed] == [
        (str(seqs[0]), "one"),
        (str(seqs[1]), "two"),
        (str(later[0]), "three"),
    ]


async def test_decide_through_the_json_api(
    served: DaphneServer, server_env: dict[str, str], event_api: EventStub
) -> None:
    """Logged in with a session, CSRF token in the header: the decision is published to
    subscribers and its reply event sent to Inngest."""
    name = f"approvals:{kind(served)}-{uuid.uuid4().hex[:8]}"
    token = run_django("-c", SEED, name, env=server_env).strip()
    url = f"{served.ws_url}/v1/realtime/connect?token={key(served, name, topics=['messages'])}"
    async with websockets.connect(url) as ws, httpx.AsyncClient(base_url=served.url) as client:
        await client.get("/admin/login/")
        login = await client.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "ann",
                "password": "pw",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert login.status_code == 302, login.text
        decided = await client.post(
            f"/confirmations/{token}/decide",
            json={"approved": True},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
            timeout=30,
        )
        assert decided.status_code == 200, decided.text
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert decided.json()["status"] == "approved" and decided.json()["decided_by"] == "ann"
    assert (frame["data"]["token"], frame["data"]["status"]) == (token, "approved")
    replies = [e for e in event_api.events if e["name"] == get_config().CONFIRMATION_EVENT]
    assert [e["data"]["token"] for e in replies if e["data"]["token"] == token] == [token]


async def test_twisted_is_loaded_only_under_daphne(served: DaphneServer) -> None:
    """After the tests above on this process (WebSocket, SSE, a decision)."""
    async with httpx.AsyncClient(timeout=10) as client:
        modules = (await client.get(f"{served.url}/test-modules")).json()
    if kind(served) == "daphne":
        assert modules["daphne.server"] and "twisted.internet.reactor" in modules["twisted"]
    else:
        assert modules == {"twisted": [], "daphne.server": False}

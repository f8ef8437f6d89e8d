"""Cloud mode: the double signs its requests, the SDK verifies them (and signs replies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.testing.inngest_server import InngestServerDouble, SyncError
from tests.inngest_double.conftest import start_app

SIGNING_KEY = "signkey-test-" + "0123456789abcdef" * 4
WRONG_KEY = "signkey-test-" + "fedcba9876543210" * 4
EVENT_KEY = "double-event-key"
TIMEOUT = 60.0


@pytest.fixture
def inngest_server_options(double_port: int) -> dict[str, Any]:
    return {"port": double_port, "signing_key": SIGNING_KEY, "event_key": EVENT_KEY}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, double_port: int) -> Iterator[DaphneServer]:
    """The app in cloud mode (``INNGEST_DEV=0``) with the same signing key as the double."""
    double = InngestServerDouble(port=double_port, signing_key=SIGNING_KEY, event_key=EVENT_KEY)
    env = double.environ()
    assert env["INNGEST_DEV"] == "0" and env["INNGEST_SIGNING_KEY"] == SIGNING_KEY
    server = start_app(tmp_path_factory, env)
    yield server
    server.stop()


def steps_run(server: InngestServerDouble, name: str = "steps") -> Any:
    return server.wait_for_run(lambda r: r.function_id == f"double-app-{name}", TIMEOUT)


def test_signed_requests_are_verified_and_replies_signed(synced: InngestServerDouble) -> None:
    assert synced.server_kind == "cloud"
    synced.send_event("double/steps", {"n": 3})
    run = steps_run(synced)
    assert run.status == "Completed", run.error
    assert run.output["doubled"] == 6
    assert run.calls and all(c.signed and c.response_signature_ok for c in run.calls)


def test_in_band_sync(inngest_server: InngestServerDouble, app: DaphneServer) -> None:
    synced = inngest_server.sync(f"{app.url}/api/inngest", kind="in_band")
    assert "double-app-steps" in synced
    assert inngest_server.functions["double-app-steps"].app_url == f"{app.url}/api/inngest"


def test_bad_signature_is_refused(synced: InngestServerDouble) -> None:
    synced.configure(signing_key=WRONG_KEY)  # the app still has SIGNING_KEY
    synced.send_event("double/flaky")
    run = steps_run(synced, "flaky")
    assert run.status == "Failed"
    assert run.error is not None and "Unauthorized" in run.error["message"]
    assert [c.status for c in run.calls] == [401, 401, 401]  # retries=2
    assert run.steps == []


def test_sync_is_refused_without_the_right_key(
    inngest_server: InngestServerDouble, app: DaphneServer
) -> None:
    inngest_server.configure(signing_key=WRONG_KEY)
    with pytest.raises(SyncError, match="authorization"):
        inngest_server.sync(f"{app.url}/api/inngest")
    assert inngest_server.functions == {}


def test_unsigned_call_is_refused_by_the_sdk(
    synced: InngestServerDouble, app: DaphneServer
) -> None:
    url = f"{app.url}/api/inngest?fnId=double-app-steps&stepId=step"
    event = {"name": "double/steps", "data": {"n": 1}, "id": "x", "ts": 1}
    body = {
        "event": event,
        "events": [event],
        "steps": {},
        "use_api": False,
        "ctx": {
            "run_id": "r",
            "attempt": 0,
            "disable_immediate_execution": False,
            "stack": {"stack": []},
        },
    }
    assert httpx.post(url, json=body, timeout=TIMEOUT).status_code == 401
    bad = {"x-inngest-signature": "t=1&s=0000"}
    assert httpx.post(url, json=body, headers=bad, timeout=TIMEOUT).status_code == 401


def test_event_key_is_checked(synced: InngestServerDouble, app: DaphneServer) -> None:
    wrong = inngest.Inngest(
        app_id="other", is_production=True, event_key="wrong", signing_key=SIGNING_KEY
    )
    with pytest.raises(Exception, match="Event key not found"):
        wrong.send_sync(inngest.Event(name="double/steps", data={"n": 1}))
    res = httpx.post(f"{app.url}/send/double/steps", json={"n": 2}, timeout=TIMEOUT)
    res.raise_for_status()  # the app's client has INNGEST_EVENT_KEY
    assert steps_run(synced).output["doubled"] == 4


def test_realtime_publish_carries_the_signing_key(synced: InngestServerDouble) -> None:
    synced.send_event("double/publish", {"id": "signed"})
    run = steps_run(synced, "publisher")
    assert run.status == "Completed", run.error
    (message,) = [m for m in synced.published if m.channel == "double:signed"]
    assert message.accepted
    assert message.headers["authorization"].startswith("Bearer ")

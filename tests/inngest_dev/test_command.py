"""``manage.py inngest_dev`` against a real project under Daphne: it syncs the project's
functions, runs them when events arrive, shows runs and steps, and resumes waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer, free_port
from django_inngest_realtime.testing.inngest_server.devserver import environ

# A project of its own (its settings, database and layer): the same in every configuration.
pytestmark = pytest.mark.config_independent

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.inngest_dev.settings"


class Dev:
    def __init__(self, port: int, app: DaphneServer, log: Path, app_log: Path) -> None:
        self.port, self.app, self.log, self.app_log = port, app, log, app_log
        self.url = f"http://127.0.0.1:{port}"

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage.py inngest_dev --port PORT ARGS...`` as a user would type it."""
        return subprocess.run(
            [sys.executable, "-m", "django", "inngest_dev", "--port", str(self.port), *args],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def send(self, name: str, data: object) -> str:
        done = self.manage("send", name, "--data", json.dumps(data))
        assert done.returncode == 0, done.stderr
        [line] = done.stdout.splitlines()
        assert line.startswith(f"Sent {name}: event ")
        return line.rsplit(" ", 1)[1]

    def runs_of(self, event_id: str) -> list[dict[str, object]]:
        res = httpx.get(f"{self.url}/v1/events/{event_id}/runs", timeout=10)
        res.raise_for_status()
        return list(res.json()["data"])


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DJANGO_"))}
    return {**env, "DJANGO_SETTINGS_MODULE": SETTINGS}


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes] | None = None) -> None:
    for _ in range(600):
        if text in path.read_text():
            return
        assert process is None or process.poll() is None, path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path}:\n{path.read_text()}")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    tmp = tmp_path_factory.mktemp("inngest_dev")
    port, app_log, log = free_port(), tmp / "daphne.log", tmp / "inngest_dev.log"
    app = DaphneServer(
        "tests.inngest_dev.asgi:application",
        env={**child_env(), **environ(port)},
        log_path=str(app_log),
    ).start()
    command = [sys.executable, "-m", "django", "inngest_dev", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--app-url", f"{app.url}/api/inngest"],
        cwd=ROOT,
        env=child_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_text(log, "[inngest] Synced 3 functions", process)
        yield Dev(port, app, log, app_log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
        app.stop()


def test_send_an_event_and_see_the_run_complete(dev: Dev) -> None:
    event_id = dev.send("dev/greet", {"name": "ada"})
    done = dev.manage("runs", "--event", event_id, "--wait", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("dev-app-greet (dev/greet): Completed")
    assert "  step 'read-name' StepRun: \"ada\"" in lines
    assert "  step 'shout' StepRun: \"HELLO, ADA\"" in lines
    assert lines[-1].endswith('Completed: "HELLO, ADA"')
    [run] = dev.runs_of(event_id)
    assert run["status"] == "Completed" and run["output"] == "HELLO, ADA"
    # The server's own console shows the same run as it happens.
    wait_for_text(dev.log, f"run {run['run_id']} Completed")
    assert f"(id {event_id})" in dev.log.read_text()


def test_a_wait_shows_what_resumes_it_and_an_event_resumes_it(dev: Dev) -> None:
    event_id = dev.send("dev/approval.requested", {"id": 7})
    for _ in range(300):
        runs = dev.runs_of(event_id)
        if runs and runs[0]["waiting_for"]:
            break
        time.sleep(0.1)
    [run] = runs
    assert run["waiting_for"]["event"] == "dev/approval.decided"  # type: ignore[index]
    waiting = dev.manage("runs", "--event", event_id)
    assert "  waiting for dev/approval.decided if event.data.id == async.data.id" in waiting.stdout
    dev.send("dev/approval.decided", {"id": 8, "approved": False})  # another request's
    dev.send("dev/approval.decided", {"id": 7, "approved": True})
    done = dev.manage("runs", "--event", event_id, "--wait", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith('Completed: {"approved": true}')


def test_a_failed_run_fails_the_wait_and_is_logged_as_a_failure(dev: Dev) -> None:
    event_id = dev.send("dev/fail", {})
    done = dev.manage("runs", "--event", event_id, "--wait", "30")
    assert done.returncode == 1
    assert "Failed: NonRetriableError: deliberate failure" in done.stdout
    assert "A run failed." in done.stderr
    app_log = dev.app_log.read_text()
    assert (
        "Inngest function dev-app-fails failed: NonRetriableError: deliberate failure "
        "(reported to Inngest; no retry)." in app_log
    )
    assert "Internal Server Error" not in app_log


def test_the_http_api(dev: Dev) -> None:
    functions = httpx.get(f"{dev.url}/v1/functions", timeout=10).json()["data"]
    assert {f["id"] for f in functions} == {"dev-app-greet", "dev-app-approve", "dev-app-fails"}
    res = httpx.post(f"{dev.url}/e/any-key", json={"name": "dev/greet", "data": {"name": "x"}})
    [event_id] = res.json()["ids"]
    for _ in range(300):
        runs = dev.runs_of(event_id)
        if runs and runs[0]["status"] != "Running":
            break
        time.sleep(0.1)
    [run] = runs
    one = httpx.get(f"{dev.url}/v1/runs/{run['run_id']}", timeout=10).json()["data"]
    assert one["status"] == "Completed" and [s["name"] for s in one["steps"]] == [
        "read-name",
        "shout",
    ]
    assert httpx.get(f"{dev.url}/v1/runs/nope", timeout=10).status_code == 404
    events = httpx.get(f"{dev.url}/v1/events", timeout=10).json()["data"]
    assert event_id in {e["id"] for e in events}


def test_nothing_listening_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "django", "inngest_dev", "--port", str(free_port()), "runs"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "No inngest_dev answers at" in done.stderr and "start it first" in done.stderr


def test_it_syncs_again_when_the_app_restarts(dev: Dev) -> None:
    # Last in the module: it restarts the app (as runserver's reloader does).
    dev.app.stop()
    wait_for_text(dev.log, "stopped answering; syncing again when it is back")
    dev.app.start()
    for _ in range(600):
        if dev.log.read_text().count("[inngest] Synced 3 functions") == 2:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(dev.log.read_text())
    event_id = dev.send("dev/greet", {"name": "again"})
    done = dev.manage("runs", "--event", event_id, "--wait", "30")
    assert done.returncode == 0 and 'Completed: "HELLO, AGAIN"' in done.stdout

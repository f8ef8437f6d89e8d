"""``manage.py inngest_dev``: an offline Inngest server for your project (docs/inngest-dev.md).

manage.py inngest_dev                      run it: sync the project's functions, show runs
manage.py inngest_dev send NAME --data J   send an event (a wait for NAME resumes too)
manage.py inngest_dev runs [--event ID]    list runs and their steps (--wait: until done)
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import NoReverseMatch, reverse

from django_inngest_realtime.testing.inngest_server.devserver import (
    DEFAULT_PORT,
    DevServer,
    run_json,
)

DEFAULT_APP = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "Run django-inngest-realtime's Inngest server double as a local dev server for this "
        "project (when Inngest's own Dev Server cannot be installed), send it events and list "
        "its runs."
    )
    # It serves no Django request: E005 about this process's own environment is beside the point.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8288")
        parser.add_argument(
            "-u",
            "--app-url",
            help="The project's serve endpoint (default: http://127.0.0.1:8000 + its path).",
        )
        parser.add_argument(
            "--time-scale", type=float, default=1.0, help="Multiply sleeps and wait timeouts."
        )
        parser.add_argument(
            "--max-sleep", type=float, default=None, help="Cap any sleep or timeout (seconds)."
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=0.0,
            help="Also re-sync every N seconds (default: only when the app (re)starts).",
        )
        actions = parser.add_subparsers(dest="action", required=False)
        send = actions.add_parser("send", help="Send an event to a running inngest_dev.")
        send.add_argument("name", help="the event name, e.g. app/user.signup")
        send.add_argument("--data", default="{}", help="the event's data, as JSON")
        runs = actions.add_parser("runs", help="List the runs of a running inngest_dev.")
        runs.add_argument("--event", help="only the runs this event id started")
        runs.add_argument(
            "--wait",
            type=float,
            default=0.0,
            help="wait up to N seconds for runs that have all finished; exit 1 if not, "
            "or if one failed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://127.0.0.1:{options['port']}"
        if options["action"] == "send":
            self.send(base, options["name"], options["data"])
        elif options["action"] == "runs":
            self.runs(base, options["event"], options["wait"])
        else:
            self.serve(options)

    # -- the server ----------------------------------------------------------------------
    def serve(self, options: dict[str, Any]) -> None:
        app_url = options["app_url"] or DEFAULT_APP + serve_path()
        server = DevServer(
            port=options["port"], time_scale=options["time_scale"], max_sleep=options["max_sleep"]
        )
        try:
            server.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on 127.0.0.1:{options['port']} ({exc}). Is Inngest's Dev Server "
                "or another inngest_dev running there? Pass --port."
            ) from exc
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        env = " ".join(f"{k}={v}" for k, v in sorted(server.environ().items()))
        self.say(
            f"django-inngest-realtime's Inngest server double on {server.url}, for local "
            "development (no dashboard; Inngest's Dev Server is the real thing: "
            f"npx inngest-cli@latest dev -u {app_url})."
        )
        self.say(f"Run Django with: {env}")
        self.say(f"Syncing {app_url} when it answers. Runs and steps show here; Ctrl-C stops.")
        try:
            self.watch(server, app_url, options["poll_interval"])
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()

    def watch(self, server: DevServer, app_url: str, poll_interval: float) -> None:
        synced, last_problem, next_sync = False, "", 0.0
        report = RunReporter(self.say)
        while True:
            up = listening(app_url)
            if up and (not synced or (poll_interval and time.monotonic() >= next_sync)):
                next_sync = time.monotonic() + poll_interval
                try:
                    functions = server.double.sync(app_url)
                except Exception as exc:  # refused or failed: say why once, keep trying
                    synced, problem = False, f"Cannot sync {app_url}: {exc}"
                    if problem != last_problem:
                        self.say(problem, self.style.ERROR)
                    last_problem = problem
                else:
                    if not synced:
                        self.say(f"Synced {len(functions)} functions: {', '.join(functions)}")
                    synced, last_problem = True, ""
            elif not up and synced:
                self.say(f"{app_url} stopped answering; syncing again when it is back.")
                synced = False
            report(server.double.events, [run_json(run) for run in server.double.runs()])
            time.sleep(0.2)

    def say(self, text: str, style: Callable[[str], str] | None = None) -> None:
        self.stdout.write(f"[inngest] {text}", style_func=style)
        self.stdout.flush()

    # -- the client ----------------------------------------------------------------------
    def send(self, base: str, name: str, raw: str) -> None:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from exc
        answer = request(base, "POST", "/e/inngest-dev", json={"name": name, "data": data})
        for event_id in answer["ids"]:
            self.stdout.write(f"Sent {name}: event {event_id}")

    def runs(self, base: str, event: str | None, wait: float) -> None:
        path = f"/v1/events/{urllib.parse.quote(event, safe='')}/runs" if event else "/v1/runs"
        deadline = time.monotonic() + wait
        while True:
            runs = request(base, "GET", path)["data"]
            done = bool(runs) and all(run["status"] != "Running" for run in runs)
            if done or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        for run in runs:
            for line in describe_run(run):
                self.stdout.write(line)
        if wait and not done:
            raise CommandError(f"Runs not finished after {wait} s.")
        if wait and any(run["status"] == "Failed" for run in runs):
            raise CommandError("A run failed.")


def serve_path() -> str:
    """The path of the project's ``serve_inngest()`` endpoint, else Inngest's default."""
    from django_inngest_realtime.serve import served_endpoints

    for endpoint in served_endpoints():
        try:
            return reverse(endpoint.name)
        except NoReverseMatch:
            break
    return "/api/inngest"


def listening(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 0.5).close()
    except OSError:
        return False
    return True


def request(base: str, method: str, path: str, **kwargs: Any) -> Any:
    try:
        res = httpx.request(method, base + path, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise CommandError(f"No inngest_dev answers at {base} ({exc}); start it first.") from exc
    if res.status_code >= 300:
        raise CommandError(f"{method} {path}: HTTP {res.status_code}: {res.text}")
    return res.json()


def short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_step(step: dict[str, Any]) -> str:
    result = f"error {short(step['error'])}" if step["error"] else short(step["data"])
    timed_out = " (timed out)" if step["timed_out"] else ""
    return f"  step {step['name']!r} {step['op']}{timed_out}: {result}"


def describe_end(run: dict[str, Any]) -> str:
    if run["status"] == "Failed":
        error = run["error"] or {}
        return f"run {run['run_id']} Failed: {error.get('name')}: {error.get('message')}"
    return f"run {run['run_id']} {run['status']}: {short(run['output'])}"


def describe_wait(run: dict[str, Any]) -> str:
    wait = run["waiting_for"]
    condition = f" if {wait['if']}" if wait.get("if") else ""
    return (
        f"  waiting for {wait['event']}{condition}: "
        f"manage.py inngest_dev send {wait['event']} --data '{{...}}' resumes it"
    )


def describe_run(run: dict[str, Any]) -> list[str]:
    lines = [f"run {run['run_id']} {run['function_id']} ({run['event_name']}): {run['status']}"]
    lines += [describe_step(step) for step in run["steps"]]
    if run["waiting_for"]:
        lines.append(describe_wait(run))
    if run["status"] != "Running":
        lines.append(describe_end(run))
    return lines


class RunReporter:
    """Writes what changed since the last call: new events, runs, steps, waits, ends."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.events = 0
        self.steps: dict[str, int] = {}
        self.waits: dict[str, Any] = {}
        self.ended: set[str] = set()

    def __call__(self, events: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        for event in events[self.events :]:
            self.write(f"event {event['name']} {short(event.get('data'))} (id {event['id']})")
        self.events = len(events)
        for run in runs:
            run_id = run["run_id"]
            if run_id not in self.steps:
                self.write(f"run {run_id} {run['function_id']} started by {run['event_name']}")
            for step in run["steps"][self.steps.get(run_id, 0) :]:
                self.write(describe_step(step))
            self.steps[run_id] = len(run["steps"])
            if run["waiting_for"] and self.waits.get(run_id) != run["waiting_for"]:
                self.write(describe_wait(run))
            self.waits[run_id] = run["waiting_for"]
            if run["status"] != "Running" and run_id not in self.ended:
                self.ended.add(run_id)
                self.write(describe_end(run))

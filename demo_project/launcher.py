"""``./run demo``: set up the demo and run it with an Inngest server next to it.

Migrates, creates the demo user and posts, starts the Inngest Dev Server
(``npx --yes inngest-cli@latest dev``) — or, when it cannot be fetched, the project's
local Inngest stand-in (``manage.py inngest_dev``), saying so — then serves Django with
Daphne on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_for(port: int, seconds: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening(port):
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.25)
    return False


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def start_dev_server(serve_url: str, port: int, timeout: float) -> subprocess.Popen[bytes] | None:
    """The real Inngest Dev Server through npx, or None when it cannot be had here."""
    if not shutil.which("npx"):
        say("npx (Node.js) is not installed, so the Inngest Dev Server cannot be fetched.")
        return None
    say(f"Starting the Inngest Dev Server (npx --yes inngest-cli@latest dev -u {serve_url}) ...")
    process = subprocess.Popen(
        [
            "npx",
            "--yes",
            "inngest-cli@latest",
            "dev",
            "-u",
            serve_url,
            "--port",
            str(port),
            "--no-discovery",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if wait_for(port, timeout, process):
        say(f"Inngest Dev Server: http://127.0.0.1:{port}")
        return process
    stop(process)
    say(
        "The Inngest Dev Server could not be fetched or started (offline, or its binary "
        "download failed)."
    )
    return None


def start_stand_in(serve_url: str, port: int) -> subprocess.Popen[bytes]:
    """``manage.py inngest_dev``: the server double, syncing the demo once it answers."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "inngest_dev", "--port", str(port), "-u", serve_url],
        cwd=ROOT,
        start_new_session=True,
    )


def wait_synced(port: int, seconds: float, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the stand-in lists the demo's functions."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/functions", timeout=2) as r:
                if json.load(r)["data"]:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
    parser.add_argument("--inngest-port", type=int, default=8288)
    parser.add_argument(
        "--no-dev-server",
        action="store_true",
        help="do not try the Inngest Dev Server; use the local stand-in",
    )
    parser.add_argument("--dev-server-timeout", type=float, default=120.0)
    parser.add_argument("--noreload", action="store_true", help="no code reloading")
    args = parser.parse_args(argv)
    # A SIGTERM (from a process manager, or `timeout`) stops what we started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("demo_setup")

    serve_url = f"http://127.0.0.1:{args.port}/api/inngest"
    dev_server = (
        None
        if args.no_dev_server
        else start_dev_server(serve_url, args.inngest_port, args.dev_server_timeout)
    )
    stand_in = None
    if dev_server is not None:
        inngest_env = {"INNGEST_DEV": f"http://127.0.0.1:{args.inngest_port}"}
    else:
        from django_inngest_realtime.testing.inngest_server.devserver import environ

        inngest_env = environ(args.inngest_port)
        say(
            "NOTICE: using django-inngest-realtime's local Inngest stand-in "
            f"(manage.py inngest_dev, on port {args.inngest_port}) instead of the Inngest Dev "
            "Server. It runs the demo's functions (steps, sleeps, waits for events, retries) "
            "for local development only; it has no dashboard and is not Inngest. With "
            f"internet access, run the real one: npx inngest-cli@latest dev -u {serve_url}"
        )
        stand_in = start_stand_in(serve_url, args.inngest_port)

    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{args.port}"]
    if args.noreload:
        command.append("--noreload")
    django_process = None
    try:
        django_process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **inngest_env, "DEMO_PORT": str(args.port)},
            start_new_session=True,
        )
        if not wait_for(args.port, 60, django_process):
            say("Daphne did not start; see the messages above.")
            return 1
        if stand_in is not None and not wait_synced(args.inngest_port, 60, stand_in):
            say("The local Inngest stand-in did not sync the demo; see the messages above.")
            return 1
        say(
            f"Ready: http://127.0.0.1:{args.port}/  (admin: user 'admin', password 'admin' "
            "— local use only). Ctrl-C stops everything."
        )
        return django_process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(django_process)
        stop(dev_server)
        stop(stand_in)


if __name__ == "__main__":
    sys.exit(main())

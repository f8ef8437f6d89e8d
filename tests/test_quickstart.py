"""docs/quickstart.md, followed as written: built from the wheel, clicked through in Chromium.

How this test reads the quickstart (keep to it when you edit the page):

* A fenced block with ``title="path"`` in its info string (```` ```python
  title="reports/views.py" ````) is a file of the project: its body replaces the file at
  ``path`` in the project folder, or is added at its end with ``mode="append"``. The
  paragraph before the block names the file in backticks, so readers see which file it is.
* A ``sh`` block is commands, one per line (``#`` starts a comment). Each must match one
  line of ``COMMANDS`` below, which says what the test does for it: most run as written;
  installing installs the wheel under test; the servers start on free ports. A command
  the table does not know fails the test, and so does any other kind of block.

The package comes from a wheel: ``INNGEST_REALTIME_WHEEL`` names a prebuilt one (``.ci/run``
builds it with ``python -m tests.wheel``); unset, the test builds one from a clean copy of
the checkout. The project gets a fresh virtual environment, as the quickstart says, and
pip installs the wheel and its dependencies into it (from pip's cache when it can).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from django.conf import settings

from django_inngest_realtime.testing.daphne import free_port
from tests.wheel import ROOT, build_wheel

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.timeout(900),  # a fresh virtualenv: pip may have to download on a cold cache
    pytest.mark.skipif(
        getattr(settings, "CONFIG", "embedded") != "embedded",
        reason="the quickstart's project has its own settings: it runs once, in the embedded run",
    ),
]
pytest.importorskip("build", reason="pip install build (in the test extra) to build the wheel")

DOC = ROOT / "docs" / "quickstart.md"
README = ROOT / "README.md"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')
PASSWORD = secrets.token_urlsafe(12)

#: Every command of the quickstart, and what the test does for it.
COMMANDS: list[tuple[str, str]] = [
    (r"mkdir (?P<dir>[\w.-]+)", "mkdir"),
    (r"cd (?P<dir>[\w.-]+)", "cd"),
    (r"python3 -m venv \.venv", "as_written"),
    (r"source \.venv/bin/activate", "activate"),
    (r"CHECKOUT=\S+", "ignore"),  # the checkout is the one the wheel was built from
    (r'python -m pip install "\$CHECKOUT"', "install_wheel"),
    (r"python -m pip install build", "ignore"),  # the next line is how tests/wheel.py builds
    (r'python -m build --wheel "\$CHECKOUT"', "ignore"),
    (r'python -m pip install "\$CHECKOUT"/dist/django_inngest_realtime-\*\.whl', "install_wheel"),
    (r"django-admin startproject myproject \.", "as_written"),
    (r"python manage.py startapp reports", "as_written"),
    (r"python manage.py migrate", "as_written"),
    (r"python manage.py check", "as_written"),
    (r"python manage.py createsuperuser", "createsuperuser"),  # --noinput, from variables
    (r"python manage.py runserver", "runserver"),  # on a free port, INNGEST_DEV -> the double
    (r"npx inngest-cli@latest dev -u (?P<url>\S+)", "dev_server"),  # not installable here
    (r"python manage.py inngest_dev", "inngest_dev"),  # on a free port
]


@dataclass
class File:
    path: str
    body: str
    append: bool


def read_quickstart(text: str) -> list[File | str]:
    """The quickstart's files and commands, in order."""
    steps: list[File | str] = []
    for block in FENCE.finditer(text):
        info = block["info"].strip()
        line = text.count("\n", 0, block.start()) + 1
        attributes = dict(ATTRIBUTE.findall(info))
        if "title" in attributes:
            path = attributes["title"]
            paragraph = text[: block.start()].rstrip().rsplit("\n\n", 1)[-1]
            assert f"`{path}`" in paragraph, f"line {line}: the text before it should name {path}"
            steps.append(File(path, block["body"], attributes.get("mode") == "append"))
        elif info == "sh":
            for command in block["body"].splitlines():
                if command.strip() and not command.lstrip().startswith("#"):
                    steps.append(command.strip())
        else:
            raise AssertionError(f"line {line}: a {info!r} block is neither a file nor commands")
    return steps


@dataclass
class Newcomer:
    """Follows the quickstart in ``folder``: runs its commands, writes its files."""

    folder: Path
    wheel: Path
    env: dict[str, str]
    cwd: Path = field(init=False)
    port: int = field(default_factory=free_port)
    inngest_port: int = field(default_factory=free_port)
    outputs: dict[str, str] = field(default_factory=dict)
    servers: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)
    dev_server_url: str = ""
    installed: bool = False

    def __post_init__(self) -> None:
        self.cwd = self.folder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def follow(self, steps: list[File | str]) -> None:
        for step in steps:
            if isinstance(step, File):
                target = self.cwd / step.path
                assert target.exists() or not step.append, f"nothing to add to: {step.path}"
                target.parent.mkdir(parents=True, exist_ok=True)
                before = target.read_text() + "\n" if step.append else ""
                target.write_text(before + step.body)
                continue
            for pattern, action in COMMANDS:
                match = re.fullmatch(pattern, step)
                if match:
                    getattr(self, action)(step, **match.groupdict())
                    break
            else:
                raise AssertionError(f"the quickstart runs {step!r}: teach COMMANDS what it does")

    def sh(self, command: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            command,
            shell=True,
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.outputs[command] = done.stdout + done.stderr
        return done.stdout

    # -- what the commands do ------------------------------------------------------------
    def as_written(self, command: str) -> None:
        self.sh(command)

    def ignore(self, command: str) -> None:
        pass

    def mkdir(self, command: str, dir: str) -> None:
        (self.cwd / dir).mkdir()

    def cd(self, command: str, dir: str) -> None:
        self.cwd = self.cwd / dir

    def activate(self, command: str) -> None:
        venv = self.cwd / ".venv"
        assert (venv / "bin" / "python").exists(), "activate before the venv exists"
        self.env["VIRTUAL_ENV"] = str(venv)
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env['PATH']}"

    def install_wheel(self, command: str) -> None:
        if not self.installed:  # the quickstart offers two ways; both are this wheel
            self.sh(f"python -m pip install --progress-bar off {shlex.quote(str(self.wheel))}")
            self.installed = True

    def createsuperuser(self, command: str) -> None:
        self.sh(
            f"{command} --noinput",
            env={
                "DJANGO_SUPERUSER_USERNAME": "admin",
                "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
                "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            },
        )

    def runserver(self, command: str) -> None:
        # Without the Dev Server on 8288, the SDK is pointed at the double (dev mode).
        env = {"INNGEST_DEV": f"http://127.0.0.1:{self.inngest_port}"}
        self.start("django", f"{command} 127.0.0.1:{self.port} --noreload", env)
        self.wait_for("django", lambda log: listening(self.port), "listening")

    def dev_server(self, command: str, url: str) -> None:
        self.dev_server_url = url

    def inngest_dev(self, command: str) -> None:
        serve = f"{self.url}/api/inngest"
        self.start("inngest", f"{command} --port {self.inngest_port} -u {serve}")
        self.wait_for("inngest", lambda log: "[inngest] Synced 1 functions" in log, "synced")

    # -- servers -------------------------------------------------------------------------
    def start(self, name: str, command: str, env: dict[str, str] | None = None) -> None:
        log = self.folder / f"{name}.log"
        out: IO[bytes] = log.open("wb")
        process = subprocess.Popen(
            command,
            shell=True,
            cwd=self.cwd,
            env={**self.env, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.servers[name] = (process, log)

    def log(self, name: str) -> str:
        return self.servers[name][1].read_text(errors="replace")

    def wait_for(self, name: str, ready: Any, what: str, timeout: float = 60) -> None:
        process, _ = self.servers[name]
        deadline = time.monotonic() + timeout
        while not ready(self.log(name)):
            assert process.poll() is None, f"{name} exited:\n{self.log(name)}"
            late = time.monotonic() > deadline
            assert not late, f"{name} not {what} after {timeout} s:\n{self.log(name)}"
            time.sleep(0.1)

    def stop(self) -> None:
        for process, _ in self.servers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(15)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newcomer]:
    prebuilt = os.environ.get("INNGEST_REALTIME_WHEEL")
    wheel = Path(prebuilt) if prebuilt else build_wheel(tmp_path_factory.mktemp("wheel"))
    assert wheel.is_file() and wheel.suffix == ".whl", wheel
    # Nothing of this test run leaks in: not its settings, not its virtualenv, not the checkout.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INNGEST_", "DJANGO_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"))
    }
    newcomer = Newcomer(tmp_path_factory.mktemp("quickstart"), wheel, env)
    try:
        newcomer.follow(read_quickstart(DOC.read_text()))
        yield newcomer
    finally:
        newcomer.stop()


def test_the_project_runs_the_wheel_under_daphne(site: Newcomer) -> None:
    where = site.sh("python -c 'import django_inngest_realtime as m; print(m.__file__)'")
    assert Path(where.strip()).is_relative_to(site.cwd / ".venv"), where
    checked = site.outputs["python manage.py check"]
    assert "System check identified no issues (0 silenced)." in checked
    assert "Starting ASGI/Daphne" in site.log("django")
    # The Dev Server's -u is where runserver (port 8000) serves the functions.
    assert site.dev_server_url == "http://127.0.0.1:8000/api/inngest"
    answer = httpx.get(f"{site.url}/api/inngest", timeout=30)
    assert answer.status_code == 200 and answer.json()["function_count"] == 1


async def test_live_feed_then_an_approval_in_the_admin(site: Newcomer, browser: Any) -> None:
    context = await browser.new_context()
    try:
        await click_through(site, context)
    except Exception as exc:  # what the servers said is what explains a timeout
        logs = f"django:\n{site.log('django')[-4000:]}\n{site.log('inngest')}"
        raise AssertionError(logs) from exc
    finally:
        await context.close()


async def click_through(site: Newcomer, context: Any) -> None:
    page = await context.new_page()
    await page.goto(f"{site.url}/")  # staff only: the admin's login page first
    await page.fill("#id_username", "admin")
    await page.fill("#id_password", PASSWORD)
    await page.click("input[type=submit]")
    await page.wait_for_url(f"{site.url}/")
    for widget in (".inngest-realtime-feed", ".inngest-realtime-confirmations"):
        await page.wait_for_selector(f"{widget}[data-state='live']", timeout=15_000)

    await page.get_by_role("button", name="Send the report").click()
    await page.wait_for_url(f"{site.url}/")
    pending = page.locator(".inngest-realtime-confirmations li[data-status='pending']")
    await pending.wait_for(timeout=30_000)
    assert "Send the report?" in (await pending.text_content() or "")
    await feed_shows(page, "Users counted: 1. Waiting for approval.")
    await page.evaluate("window.stillTheSamePage = true")

    admin = await context.new_page()
    await admin.goto(f"{site.url}/admin/")
    await admin.get_by_role("link", name="Confirmations").click()
    await admin.get_by_role("link", name="Send the report?").click()
    await admin.get_by_role("button", name="Approve").click()

    await feed_shows(page, "Approved by admin: the report was sent.")
    outcome = page.locator(".inngest-realtime-confirmations li[data-status='approved']")
    await outcome.wait_for(timeout=30_000)
    assert "Approved by admin" in (await outcome.text_content() or "")
    assert await page.evaluate("window.stillTheSamePage") is True  # updated live, no reload
    runs = site.sh(f"python manage.py inngest_dev --port {site.inngest_port} runs --wait 30")
    assert "myproject-send-report" in runs and "Completed" in runs, runs


async def feed_shows(page: Any, text: str) -> None:
    await page.wait_for_function(
        "(text) => [...document.querySelectorAll('.inngest-realtime-feed li')]"
        ".some((li) => li.textContent === text)",
        arg=text,
        timeout=30_000,
    )


def test_the_readme_shows_the_quickstart_files_as_they_are() -> None:
    """The README's five-minute path quotes the quickstart's files; this test keeps them
    the same, so they are tested too."""
    files = [step for step in read_quickstart(DOC.read_text()) if isinstance(step, File)]
    quoted = [
        File(attributes["title"], block["body"], attributes.get("mode") == "append")
        for block in FENCE.finditer(README.read_text())
        if "title" in (attributes := dict(ATTRIBUTE.findall(block["info"])))
    ]
    assert len(quoted) >= 5
    assert [file for file in quoted if file not in files] == []

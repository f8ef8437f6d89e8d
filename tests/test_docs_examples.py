"""The complete examples of docs/live-html.md, docs/broadcasts.md and docs/run-status.md,
run as written.

Each fenced block whose first line names a file (``# boards/models.py``, ``{# boards/templates/
boards/_note.html #}``) is written to a fresh project, which a child process then sets up
(SQLite, the local broker) and exercises; the run-status example runs under Daphne with
the Inngest server double running its function.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer, free_port
from django_inngest_realtime.testing.inngest_server import InngestServerDouble

# A project of its own (its settings, database and layer): the same in every configuration.
pytestmark = pytest.mark.config_independent

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```(?:python|django)\n(.*?)```", re.DOTALL)
NAMED = re.compile(r"^(?:# |\{# )([\w/.-]+\.(?:py|html))\b")

SETTINGS = """
SECRET_KEY = "docs-example"
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "channels", "django_inngest_realtime", {app!r},
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": __import__("pathlib").Path(__file__).resolve().parent.parent / "db.sqlite3",
}}}}
CHANNEL_LAYERS = {{"default": {{"BACKEND": "channels.layers.InMemoryChannelLayer"}}}}
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {{"context_processors": ["django.template.context_processors.request"]}},
}}]
ROOT_URLCONF = "docsite.urls"
ASGI_APPLICATION = "docsite.asgi.application"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

URLS = """
from django.urls import include, path
urlpatterns = [path("", include("django_inngest_realtime.urls"))]
try:
    urlpatterns.append(path("", include({app!r} + ".urls")))
except ImportError:
    pass
"""

ASGI = """
from django.core.asgi import get_asgi_application

application = get_asgi_application()
"""

PRELUDE = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", run_syncdb=True, verbosity=0)
from django.test import Client
from django_inngest_realtime.brokers import get_broker

def history(name):
    return [[m.topic, m.data] for m in get_broker().history_sync(name, 0).messages]
"""

BOARDS = """
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from boards.models import Board, Note
from boards.views import board_page

board = Board.objects.create(name="b")
note = Note.objects.create(board=board, text="hi")
note.text = "<ho>"
note.save()
kept = Note.objects.create(board=board, text="kept")
pk = note.pk
note.delete()
request = RequestFactory().get("/")
request.user = AnonymousUser()
page = board_page(request, board.pk).content.decode()
found = history(f"board:{board.pk}")
print(json.dumps({"board": board.pk, "pk": pk, "kept": kept.pk, "history": found, "page": page}))
"""

COMMENTS = """
from comments.models import Post

post = Post.objects.create(title="First")
client = Client()
response = client.post(f"/posts/{post.pk}/comments", {"text": "<b>hi</b>"})
page = client.get(f"/posts/{post.pk}/").content.decode()
found = history(f"post-page:{post.pk}")
print(json.dumps({"status": response.status_code, "history": found, "page": page}))
"""


def write_example(doc: str, app: str, tmp: Path) -> list[str]:
    """Write the doc's file-named blocks and a project around them; the files written."""
    written = []
    for block in BLOCK.findall((ROOT / "docs" / doc).read_text()):
        named = NAMED.match(block)
        if named is None:
            continue
        path = tmp / named.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block)
        written.append(named.group(1))
    (tmp / app / "__init__.py").touch()
    (tmp / "docsite").mkdir()
    (tmp / "docsite" / "__init__.py").touch()
    (tmp / "docsite" / "settings.py").write_text(SETTINGS.format(app=app))
    (tmp / "docsite" / "urls.py").write_text(URLS.format(app=app))
    (tmp / "docsite" / "asgi.py").write_text(ASGI)
    return written


def example_env(tmp: Path) -> dict[str, str]:
    """The project's environment: its settings, this checkout's package."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "INNGEST", "TEST_"))},
        "DJANGO_SETTINGS_MODULE": "docsite.settings",
        "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
    }


def run_example(doc: str, app: str, script: str, tmp: Path) -> dict[str, Any]:
    written = write_example(doc, app, tmp)
    env = example_env(tmp)
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + script],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["written"] = written
    return result


def test_the_broadcasts_example(tmp_path: Path) -> None:
    result = run_example("broadcasts.md", "boards", BOARDS, tmp_path)
    assert {"boards/models.py", "boards/channels.py", "boards/views.py"} <= set(result["written"])
    board, pk, kept = result["board"], result["pk"], result["kept"]
    for _, data in result["history"]:  # the templates start with their {# file name #} line
        if "html" in data:
            data["html"] = data["html"].strip()
    note = f"note-{pk}"
    assert result["history"] == [
        [
            "notes",
            {"event": "created", "pk": pk, "object": {"id": pk, "text": "hi", "board_id": board}},
        ],
        [
            "html",
            {
                "action": "append",
                "target": f"board-{board}-notes",
                "html": f'<li id="{note}" class="note">hi</li>',
            },
        ],
        [
            "notes",
            {"event": "updated", "pk": pk, "object": {"id": pk, "text": "<ho>", "board_id": board}},
        ],
        [
            "html",
            {
                "action": "replace",
                "target": note,
                "html": f'<li id="{note}" class="note">&lt;ho&gt;</li>',
            },
        ],
        [
            "notes",
            {
                "event": "created",
                "pk": kept,
                "object": {"id": kept, "text": "kept", "board_id": board},
            },
        ],
        [
            "html",
            {
                "action": "append",
                "target": f"board-{board}-notes",
                "html": f'<li id="note-{kept}" class="note">kept</li>',
            },
        ],
        [
            "notes",
            {"event": "deleted", "pk": pk, "object": {"id": pk, "text": "<ho>", "board_id": board}},
        ],
        ["html", {"action": "remove", "target": note, "html": ""}],
    ]
    assert f'<ul id="board-{board}-notes">' in result["page"]
    assert f'<li id="note-{kept}" class="note">kept</li>' in result["page"]
    assert 'data-inngest-realtime="html"' in result["page"]


def test_the_live_html_example(tmp_path: Path) -> None:
    result = run_example("live-html.md", "comments", COMMENTS, tmp_path)
    assert "comments/templates/comments/_comment.html" in result["written"]
    assert result["status"] == 302
    [[topic, data]] = result["history"]
    assert topic == "html" and data["action"] == "append" and data["target"] == "comments"
    assert '<li id="comment-1" class="comment">' in data["html"]
    assert "&lt;b&gt;hi&lt;/b&gt;" in data["html"]
    assert (
        data["html"].split()
        == result["page"].split('<ul id="comments">')[1].split("</ul>")[0].split()
    )
    assert 'data-inngest-realtime="html"' in result["page"]


async def test_the_run_status_example(tmp_path: Path) -> None:
    """Under Daphne, with the Inngest server double running ``build_report``: the stream
    ends with the run's completion, and the page then shows it (from history)."""
    written = write_example("run-status.md", "shop", tmp_path)
    assert {"shop/inngest_functions.py", "shop/urls.py", "shop/views.py"} <= set(written)
    assert "shop/templates/shop/report.html" in written
    async with InngestServerDouble(port=free_port()) as double:
        env = {**example_env(tmp_path), **double.environ()}
        migrate = [sys.executable, "-m", "django", "migrate", "-v0"]
        await asyncio.to_thread(subprocess.run, migrate, cwd=tmp_path, env=env, check=True)
        log = tmp_path / "daphne.log"
        server = DaphneServer("docsite.asgi:application", env=env, log_path=str(log)).start()
        try:
            await double.sync_async(f"{server.url}/api/inngest")
            async with httpx.AsyncClient(timeout=60) as client:
                page = (await client.get(f"{server.url}/reports/r1/page")).text
                assert "No run yet" in page, page
                messages = []
                async with client.stream("GET", f"{server.url}/reports/r1") as response:
                    async for line in response.aiter_lines():  # ends when the run ends
                        if line.startswith("data: "):
                            messages.append(json.loads(line[6:]))
                page = (await client.get(f"{server.url}/reports/r1/page")).text
        finally:
            server.stop()
    assert [(m["kind"], m["data"]) for m in messages] == [
        ("data", "counting orders"),
        ("data", "42 orders"),
        ("run", {"status": "completed", "output": {"orders": 42}}),
    ], log.read_text()[-3000:]
    assert 'data-run-status="completed" role="status">Completed</span>' in page
    assert '<li data-id="' in page and ">42 orders</li>" in page

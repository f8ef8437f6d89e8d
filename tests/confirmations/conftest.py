from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.confirmations import outbox
from django_inngest_realtime.models import Confirmation
from tests.confirmations import inngest_app
from tests.confirmations.smtp import Mailbox
from tests.confirmations.stub import EventStub

CLIENT_PATH = "tests.confirmations.inngest_app.reply_client"


@pytest.fixture(scope="session")
def _event_api() -> Iterator[EventStub]:
    stub = EventStub()
    stub.up()
    yield stub
    stub.down()


@pytest.fixture(autouse=True)
def event_api(_event_api: EventStub, settings: Any) -> Iterator[EventStub]:
    """Inngest's Event API stand-in, up and empty; replies are sent to it."""
    _event_api.up()
    _event_api.reset()
    inngest_app.reply_client = inngest_app.make_reply_client(_event_api.url)
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "INNGEST_CLIENT": CLIENT_PATH}
    settings.ROOT_URLCONF = "tests.confirmations.urls"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield _event_api
    outbox.retrier.stop()
    _event_api.up()
    # Close what steps opened in asgiref's sync thread, so the test database can be dropped.
    asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    def make(username: str, *, decide: bool = True, view: bool = False, staff: bool = False) -> Any:
        user = django_user_model.objects.create_user(username, password="pw", is_staff=staff)
        codenames = [
            c for c, on in (("decide_confirmation", decide), ("view_confirmation", view)) if on
        ]
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="django_inngest_realtime", codename__in=codenames
            )
        )
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return make


@pytest.fixture
def make_confirmation() -> Callable[..., Confirmation]:
    """A pending confirmation as ``request_confirmation`` leaves it."""

    def make(**fields: Any) -> Confirmation:
        assignees = fields.pop("assignees", [])
        groups = fields.pop("groups", [])
        values: dict[str, Any] = {
            "title": "Deploy",
            "message": "Confirm to proceed?",
            "channel": "agentic:t",
            "topic": "messages",
            "run_id": "",
            "event_name": get_config().CONFIRMATION_EVENT,
            "expires_at": timezone.now() + datetime.timedelta(hours=1),
        }
        values.update(fields)
        confirmation = Confirmation.objects.create(**values)
        confirmation.assignees.set(assignees)
        confirmation.assignee_groups.set(groups)
        return confirmation

    return make


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server; Django's SMTP backend sends to it, notices link to SITE_URL."""
    box = Mailbox()
    box.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
    settings.EMAIL_TIMEOUT = 30
    settings.DEFAULT_FROM_EMAIL = "approvals@example.com"
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "SITE_URL": "https://approvals.example.com/",
        "OUTBOX_RETRY_BASE": 0.2,
    }
    yield box
    outbox.retrier.stop()  # before the server goes: nothing sends to a closed port
    box.controller.stop()

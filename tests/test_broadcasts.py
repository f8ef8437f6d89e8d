"""Model broadcasts (``broadcasts.py``): changes published on commit, in order, on every
broker; nothing for a rolled-back transaction; bulk operations as documented."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest
from asgiref.sync import sync_to_async
from django.db import connections, models, transaction

from django_inngest_realtime import publish, subscribe
from django_inngest_realtime.broadcasts import JSONBroadcast
from django_inngest_realtime.signals import message_published
from tests.broadcast_app.channels import board_channel
from tests.broadcast_app.models import Board, Note, PinnedNote

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_connections() -> AsyncIterator[None]:
    yield
    # What the ORM opened in asgiref's sync thread, so the test database can be dropped.
    await sync_to_async(connections.close_all)()


class Rollback(Exception):
    pass


async def take(sub: Any, n: int, timeout: float = 15) -> list[Any]:
    async def collect() -> list[Any]:
        return [await sub.__anext__() for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout)


def summary(messages: list[Any]) -> list[tuple[str, Any]]:
    """(topic, event or action) of each message."""
    return [(m.topic, m.data.get("event") or m.data.get("action")) for m in messages]


async def board_and_subscription(name: str) -> tuple[Board, Any]:
    board = await Board.objects.acreate(name=name)
    return board, await subscribe(board_channel(board.pk), topics=["notes", "html"])


async def test_created_updated_deleted_arrive_in_order(broker: str) -> None:
    board, sub = await board_and_subscription("order")

    def work() -> int:
        note = Note.objects.create(board=board, text="one")
        with transaction.atomic():
            note.text = "two"
            note.save()
            note.text = "three"  # two saves in one transaction: two updates, each as saved
            note.save()
        pk = note.pk
        note.delete()
        return pk

    pk = await sync_to_async(work)()
    got = await take(sub, 8)
    await sub.close()
    assert summary(got) == [
        ("notes", "created"),
        ("html", "append"),
        ("notes", "updated"),
        ("html", "replace"),
        ("notes", "updated"),
        ("html", "replace"),
        ("notes", "deleted"),
        ("html", "remove"),
    ]
    assert [m.data for m in got if m.topic == "notes"] == [
        {"event": event, "pk": pk, "object": {"id": pk, "text": text, "board_id": board.pk}}
        for event, text in [
            ("created", "one"),
            ("updated", "two"),
            ("updated", "three"),
            ("deleted", "three"),
        ]
    ]
    element = f"note-{pk}"
    assert [m.data for m in got if m.topic == "html"] == [
        {
            "action": "append",
            "target": f"board-{board.pk}-notes",
            "html": f'<li id="{element}" class="note">one <small>on order</small></li>\n',
        },
        # Rendered after the commit, each from the instance as it was saved.
        {
            "action": "replace",
            "target": element,
            "html": f'<li id="{element}" class="note">two <small>on order</small></li>\n',
        },
        {
            "action": "replace",
            "target": element,
            "html": f'<li id="{element}" class="note">three <small>on order</small></li>\n',
        },
        {"action": "remove", "target": element, "html": ""},
    ]
    assert [m.seq for m in got] == sorted(m.seq for m in got)


async def test_a_rolled_back_transaction_broadcasts_nothing(broker: str) -> None:
    board, sub = await board_and_subscription("rollback")

    def work() -> None:
        try:
            with transaction.atomic():
                Note.objects.create(board=board, text="never")
                raise Rollback
        except Rollback:
            pass
        with transaction.atomic():
            Note.objects.create(board=board, text="kept")
            try:
                with transaction.atomic():  # a savepoint rolled back inside it
                    Note.objects.create(board=board, text="savepoint rolled back")
                    raise Rollback
            except Rollback:
                pass

    await sync_to_async(work)()
    marker = await publish(board_channel(board.pk).notes({"event": "created", "pk": 0}))
    got = await take(sub, 3)
    await sub.close()
    assert [(m.data["object"] or {}).get("text") for m in got if m.topic == "notes"] == [
        "kept",
        None,
    ]
    assert got[-1].id == marker.id  # nothing else came between
    assert await Note.objects.filter(board=board).acount() == 1


async def test_the_row_is_visible_to_other_connections_when_the_broadcast_arrives(
    broker: str,
) -> None:
    board, sub = await board_and_subscription("visible")
    seen: list[bool] = []

    def look(sender: Any, message: Any, **kwargs: Any) -> None:
        if message.topic != "notes" or message.data["event"] != "created":
            return

        def other_connection() -> None:  # a thread of its own: a connection of its own
            seen.append(Note.objects.filter(pk=message.data["pk"]).exists())
            connections.close_all()

        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(30)

    message_published.connect(look, weak=False)
    try:

        def work() -> None:
            with transaction.atomic():
                Note.objects.create(board=board, text="visible")

        await sync_to_async(work)()
        await take(sub, 2)
    finally:
        message_published.disconnect(look)
        await sub.close()
    assert seen == [True]


async def test_bulk_operations(broker: str) -> None:
    board, sub = await board_and_subscription("bulk")

    def work() -> list[int]:
        notes = [Note.objects.create(board=board, text=f"n{i}") for i in range(2)]
        # No model signals, so no broadcasts:
        for note in notes:
            note.text = "bulk updated"
        Note.objects.bulk_update(notes, ["text"])
        Note.objects.filter(board=board).update(text="updated in bulk")
        Note.objects.bulk_create([Note(board=board, text="bulk created")])
        Note(pk=999_999, board=board, text="fixture").save_base(raw=True)  # loaddata
        # ... then broadcast by hand (one broadcast of the model's, the JSON one here):
        fresh = Note.objects.get(pk=notes[0].pk)
        Note.changes.broadcast(fresh, "updated")
        # A queryset's delete() sends post_delete for each row: broadcast.
        Note.objects.filter(pk__in=[n.pk for n in notes]).delete()
        return [n.pk for n in notes]

    pks = await sync_to_async(work)()
    marker = await publish(board_channel(board.pk).notes({"event": "created", "pk": 0}))
    got = await take(sub, 4 + 1 + 4 + 1)
    await sub.close()
    notes = [(m.data["event"], m.data["pk"]) for m in got if m.topic == "notes"]
    assert notes[:3] == [("created", pks[0]), ("created", pks[1]), ("updated", pks[0])]
    # The deletion collector picks its own order within one delete().
    assert sorted(notes[3:5]) == sorted(("deleted", pk) for pk in pks)
    assert notes[5:] == [("created", 0)]
    assert sorted(m.data["action"] for m in got if m.topic == "html") == [
        "append",
        "append",
        "remove",
        "remove",
    ]
    assert [m.data for m in got if m.topic == "notes"][2]["object"]["text"] == "updated in bulk"
    assert got[-1].id == marker.id


async def test_cascades_and_proxies_broadcast(broker: str) -> None:
    board, sub = await board_and_subscription("cascade")

    pinned = await PinnedNote.objects.acreate(board=board, text="pinned")  # async ORM too
    await board.adelete()  # the notes go with it, each broadcast
    pk = pinned.pk
    got = await take(sub, 4)
    await sub.close()
    assert summary(got) == [
        ("notes", "created"),
        ("html", "append"),
        ("notes", "deleted"),
        ("html", "remove"),
    ]
    assert {m.data.get("pk") for m in got if m.topic == "notes"} == {pk}


async def test_a_template_without_the_dom_id_is_logged_after_the_commit(
    broker: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    board, sub = await board_and_subscription("no-id")
    monkeypatch.setattr(Note.live, "template", "broadcast_app/note_without_id.html")
    committed: list[str] = []

    def work() -> None:
        with transaction.atomic():
            Note.objects.create(board=board, text="saved")
            transaction.on_commit(lambda: committed.append("later hook ran"))

    await sync_to_async(work)()  # no exception: the row is committed
    got = await take(sub, 1)
    await sub.close()
    assert summary(got) == [("notes", "created")]
    assert committed == ["later hook ran"]
    assert "Could not broadcast created of <Note: saved> (Note.live (HTMLBroadcast))" in caplog.text
    assert 'must render an element with id="{{ dom_id }}"' in caplog.text


def test_data_that_fails_the_schema_fails_the_save(monkeypatch: pytest.MonkeyPatch) -> None:
    class Strict(pydantic.BaseModel):
        id: int
        missing_field: str

    monkeypatch.setattr(Note.changes, "schema", Strict)
    board = Board.objects.create(name="strict")
    with pytest.raises(pydantic.ValidationError, match="missing_field"):
        with transaction.atomic():
            Note.objects.create(board=board, text="x")
    assert not Note.objects.filter(board=board).exists()


def test_declaration_errors() -> None:
    with pytest.raises(TypeError, match="declare broadcasts on a concrete model"):

        class Base(models.Model):
            changes = JSONBroadcast(lambda obj: board_channel(1), topic="notes")

            class Meta:
                abstract = True
                app_label = "broadcast_app"

    with pytest.raises(ValueError, match="Unknown broadcast events"):
        JSONBroadcast(lambda obj: board_channel(1), topic="notes", on=["renamed"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Unknown broadcast event 'renamed'"):
        Note.changes.broadcast(Note(pk=1), "renamed")  # type: ignore[arg-type]

"""Giving back the thread Django's ASGI handler keeps for a streaming request
(``request_thread.py``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.db import connection, transaction

from django_inngest_realtime import request_thread


async def until_ended(thread: threading.Thread) -> bool:
    for _ in range(200):
        if not thread.is_alive():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_request_thread_ends_and_a_later_call_gets_a_new_one() -> None:
    async with ThreadSensitiveContext():
        first = await sync_to_async(threading.current_thread)()
        assert await request_thread.release()
        assert await until_ended(first)
        second = await sync_to_async(threading.current_thread)()
        assert second is not first and second.is_alive()
        assert await sync_to_async(threading.current_thread)() is second  # still one thread


async def test_nothing_to_release_without_a_context_or_a_thread() -> None:
    assert not await request_thread.release()  # no request context
    async with ThreadSensitiveContext():
        assert not await request_thread.release()  # no sync call made: no thread yet


@pytest.mark.django_db(transaction=True)
async def test_the_database_connection_it_opened_is_closed() -> None:
    def query() -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return connection.connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django never closes an in-memory SQLite database (it would lose it).")
    async with ThreadSensitiveContext():
        opened = await sync_to_async(query)()
        assert opened is not None
        opened.cursor()  # open
        assert await request_thread.release()
    with pytest.raises(Exception, match=r"(?i)closed"):
        opened.cursor()


@pytest.mark.django_db(transaction=True)
async def test_a_thread_inside_a_transaction_is_kept() -> None:
    atomic = transaction.atomic()
    async with ThreadSensitiveContext():
        thread = await sync_to_async(threading.current_thread)()
        await sync_to_async(atomic.__enter__)()
        try:
            assert not await request_thread.release()
            assert await sync_to_async(threading.current_thread)() is thread
            assert await sync_to_async(lambda: connection.in_atomic_block)()
        finally:
            await sync_to_async(atomic.__exit__)(None, None, None)
            await sync_to_async(lambda: connection.close())()


async def test_without_asgirefs_executor_map_nothing_is_released(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(SyncToAsync, "context_to_thread_executor")
    monkeypatch.setattr(request_thread, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="django_inngest_realtime"):
        assert not await request_thread.release()
        assert not await request_thread.release()
    assert len([r for r in caplog.records if "keep their request's thread" in r.message]) == 1

"""The ``channels`` broker: fan-out through any Channels layer, history in the database.

For teams that already run a channel layer other than Redis (RabbitMQ, PostgreSQL...).
A publish takes the channel's next position and keeps the message in one database
transaction (the channel's row is locked, so positions are unique and gap-free), then
``group_send``\\ s the frame to the group of its (channel, topic). Each hub joins each
group it uses once, on one channel of its own; history is pruned by size every 16th
publish of a channel and by age every 128th (reads keep to the last ``HISTORY_SIZE``
positions and ``HISTORY_TTL`` whatever is still stored).

Each event loop gets its own instance of the layer (``channel_layers.make_backend``):
layers such as channels_rabbitmq refuse a second loop, and channels_redis can leave a
receive that never ends when loops share it. Publishes send through one background loop
of this broker (so a short-lived loop leaves no instance behind). So the layer must carry
messages between instances:
the in-memory layer cannot be used (system check ``E009``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from channels.layers import channel_layers
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, transaction

from django_inngest_realtime.brokers.base import (
    Beat,
    Broker,
    Feed,
    Member,
    Replay,
    Sink,
    channel_key,
    replay_after,
    sequence_start,
)
from django_inngest_realtime.brokers.channels_feed import MESSAGE_TYPE, ChannelsFeed
from django_inngest_realtime.brokers.db_presence import DatabasePresence
from django_inngest_realtime.conf import RealtimeConfig
from django_inngest_realtime.envelope import Message

logger = logging.getLogger("django_inngest_realtime")

T = TypeVar("T")
#: Publishes of a channel between two prunes of its stored history.
PRUNE_EVERY = 16


class ChannelsBroker(Broker):
    """Fan-out through the ``default`` channel layer, history in the database."""

    def __init__(self, config: RealtimeConfig, alias: str = "default") -> None:
        super().__init__(config)
        self.alias = alias
        backend = channel_layers.configs.get(alias, {}).get("BACKEND", "")
        if not backend:
            raise ImproperlyConfigured(
                f"The 'channels' broker needs CHANNEL_LAYERS[{alias!r}] (a layer that carries "
                "messages between processes, such as channels_rabbitmq)."
            )
        if backend == "channels.layers.InMemoryChannelLayer":
            raise ImproperlyConfigured(
                "The 'channels' broker cannot use the in-memory channel layer (each event loop "
                "has its own layer instance); use the 'local' broker for one process "
                "(django_inngest_realtime.E009)."
            )
        self._layers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._background: asyncio.AbstractEventLoop | None = None
        self._db: concurrent.futures.ThreadPoolExecutor | None = None
        self._presence = DatabasePresence(self.presence_ttl)

    def layer(self) -> Any:
        """This event loop's instance of the layer."""
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = channel_layers.make_backend(self.alias)
        return layer

    # History: the database.

    def _append(self, message: Message) -> tuple[Message, int]:
        from django_inngest_realtime.models import StoredChannel, StoredMessage

        key = channel_key(message.channel)
        with transaction.atomic():
            state = StoredChannel.objects.select_for_update().filter(key=key).first()
            if state is None:
                start = sequence_start()
                try:
                    with transaction.atomic():
                        state = StoredChannel.objects.create(
                            key=key, channel=message.channel, start=start, seq=start
                        )
                except IntegrityError:  # created meanwhile by another publisher
                    state = StoredChannel.objects.select_for_update().get(key=key)
            state.seq += 1
            prev = int(state.last.get(message.topic, 0))
            state.last[message.topic] = state.seq
            state.save(update_fields=["seq", "last"])
            stored = message.model_copy(update={"seq": state.seq})
            StoredMessage.objects.create(
                key=key,
                seq=state.seq,
                topic=message.topic,
                frame=stored.to_json(),
                created_at=stored.created_at,
            )
            # Pruned now and then, not on every publish (a round trip saved); reads keep to
            # the last HISTORY_SIZE positions whatever is still stored.
            if state.seq % PRUNE_EVERY == 0:
                kept = StoredMessage.objects.filter(key=key)
                kept.filter(seq__lte=state.seq - self.size).delete()
                if state.seq % (PRUNE_EVERY * 8) == 0:
                    kept.filter(created_at__lt=self._cutoff()).delete()
        return stored, prev

    def _cutoff(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=self.ttl)

    def history_sync(self, channel: str, after: int) -> Replay:
        from django_inngest_realtime.models import StoredChannel, StoredMessage

        key = channel_key(channel)
        with transaction.atomic():
            state = StoredChannel.objects.filter(key=key).values_list("seq", "start").first()
            position, start = state if state is not None else (0, 0)
            rows = StoredMessage.objects.filter(
                key=key, created_at__gte=self._cutoff(), seq__gt=position - self.size
            )
            if after <= position:  # else a position from a lost history: all kept is new
                rows = rows.filter(seq__gt=after)
            frames = list(rows.order_by("seq").values_list("frame", flat=True))
        return replay_after([Message.from_json(f) for f in frames], after, position, start)

    async def history(self, channel: str, after: int) -> Replay:
        return await self._in_db_thread(self.history_sync, channel, after)

    def position_sync(self, channel: str) -> int:
        from django_inngest_realtime.models import StoredChannel

        seq = StoredChannel.objects.filter(key=channel_key(channel)).values_list("seq", flat=True)
        return int(seq.first() or 0)

    async def position(self, channel: str) -> int:
        return await self._in_db_thread(self.position_sync, channel)

    # Fan-out: the layer.

    def _hub_message(self, stored: Message, prev: int) -> dict[str, Any]:
        return {
            "type": MESSAGE_TYPE,
            "group": self.group(stored.channel, stored.topic),
            "seq": stored.seq,
            "prev": prev,
            "frame": stored.to_json(),
        }

    async def _send(self, message: dict[str, Any]) -> None:
        await self.layer().group_send(message["group"], message)

    async def publish(self, message: Message) -> Message:
        # Once started, a publish is stored and sent whole even if its caller is cancelled
        # meanwhile (a client gone, a timeout): the caller still sees its cancellation, but
        # no message is stored without its fan-out, and no layer send is cancelled halfway
        # (channels_rabbitmq's connection does not survive a send cancelled while it waits
        # for RabbitMQ's confirmation: every later ``group_send`` was dropped).
        return await asyncio.shield(self._publish(message))

    async def _publish(self, message: Message) -> Message:
        stored, prev = await self._in_db_thread(self._append, message)
        # Sent from this broker's own loop, as synchronous publishes are: a publish from a
        # short-lived loop (``asyncio.run``, ``async_to_sync``, the SDK's test runner) never
        # leaves a layer instance, and its connection, behind with that loop.
        await asyncio.wrap_future(self._send_in_background(stored, prev))
        return stored

    def publish_sync(self, message: Message) -> Message:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            stored, prev = self._append(message)
        else:  # sync code blocking a loop: the ORM refuses to run here
            stored, prev = self._db_thread().submit(self._append, message).result()
        self._send_in_background(stored, prev).result(self.config.SYNC_PUBLISH_TIMEOUT)
        return stored

    def _send_in_background(self, stored: Message, prev: int) -> concurrent.futures.Future[None]:
        return asyncio.run_coroutine_threadsafe(
            self._send(self._hub_message(stored, prev)), self._background_loop()
        )

    def _db_thread(self) -> concurrent.futures.ThreadPoolExecutor:
        """The thread this broker's database work runs in, from async code and from sync code
        blocking a loop: one connection, closed with the broker."""
        with self._lock:
            if self._db is None:
                self._db = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="inngest-realtime-db"
                )
            return self._db

    async def _in_db_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db_thread(), fn, *args)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        """The loop every publish sends through (one thread, started on first use)."""
        with self._lock:
            if self._background is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=_run_until_stopped,
                    args=(loop,),
                    name="inngest-realtime-publisher",
                    daemon=True,
                ).start()
                self._background = loop
            return self._background

    def connect(self, sink: Sink) -> Feed:
        return ChannelsFeed(self.layer(), sink)

    async def presence_join(self, channel: str, member: Member, process: str) -> None:
        await self._in_db_thread(self._presence.join, channel, member, process)

    async def presence_leave(self, channel: str, member_id: str, process: str) -> None:
        await self._in_db_thread(self._presence.leave, channel, member_id, process)

    async def presence_members(self, channel: str) -> list[Member]:
        return await self._in_db_thread(self._presence.members, channel)

    async def presence_beat(self, process: str) -> Beat:
        return await self._in_db_thread(self._presence.beat, process)

    async def aclose(self) -> None:
        layer = self._layers.pop(asyncio.get_running_loop(), None)
        await _close_layer(layer)

    def close(self) -> None:
        with self._lock:
            loop, self._background = self._background, None
            pool, self._db = self._db, None
        if loop is not None:
            layer = self._layers.pop(loop, None)
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_close_layer(layer), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.submit(connections.close_all).result(5)
            pool.shutdown(wait=False)


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


async def _close_layer(layer: Any) -> None:
    """Close a layer instance's connection, where the layer has a way to (channels_rabbitmq's
    ``close``; channels_redis closes its per-loop pools itself when the loop closes)."""
    close = getattr(layer, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()

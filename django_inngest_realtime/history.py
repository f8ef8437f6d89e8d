"""History stores: per-channel sequence numbers and the last messages, for resume.

``append`` gives each message its channel position (``seq``) and keeps it for a while;
``since`` returns what a client missed after a position, or says that history no
longer covers it. The memory store serves one process; the Redis store serves many.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import json
import threading
import time
import weakref
from typing import Any

from django.utils.module_loading import import_string

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.envelope import Message


@dataclasses.dataclass(frozen=True)
class Replay:
    """What a client missed after ``after``: the kept messages, in order."""

    messages: list[Message]
    #: False when history no longer holds every message after ``after``.
    recovered: bool
    #: The channel's position when the replay was read.
    position: int


def sequence_start() -> int:
    """Where a channel's sequence starts: the current time in microseconds' order.

    A store that loses its state (a restarted process with in-memory history, an expired
    or flushed Redis key) starts the channel again above every position it gave out
    before, so a client resuming from an old position gets what is kept, with a gap
    signal, instead of a silent skip.
    """
    return int(time.time() * 1000) * 1000


class HistoryStore:
    """Interface of a history store."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl

    async def append(self, message: Message) -> Message:
        """Assign the next ``seq`` of ``message.channel``, keep the message, return it."""
        raise NotImplementedError

    async def since(self, channel: str, after: int) -> Replay:
        """Return the kept messages of ``channel`` with ``seq > after``."""
        raise NotImplementedError

    async def position(self, channel: str) -> int:
        """Return the last ``seq`` given out on ``channel`` (0 when none)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what this store holds for the running event loop."""


def _replay(kept: list[Message], after: int, position: int, start: int) -> Replay:
    """What a client that saw ``after`` missed; ``start`` is the value before seq one."""
    if after == 0:
        after = start  # 0 asks for everything from the channel's start
    if after < start or after > position:
        # A position from before this sequence began: the store lost its state (a
        # restarted process with in-memory history, a flushed Redis). Everything kept
        # is new to that client, and it may have missed more.
        return Replay(kept, False, position)
    missed = [m for m in kept if m.seq is not None and m.seq > after]
    recovered = after == position or (bool(missed) and missed[0].seq == after + 1)
    return Replay(missed, recovered, position)


class MemoryHistoryStore(HistoryStore):
    """Per-process history; the embedded default."""

    def __init__(self, size: int, ttl: float) -> None:
        super().__init__(size, ttl)
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._start: dict[str, int] = {}
        self._kept: dict[str, collections.deque[tuple[float, Message]]] = {}

    def append_now(self, message: Message) -> Message:
        now = time.monotonic()
        with self._lock:
            if message.channel not in self._seq:
                self._seq[message.channel] = self._start[message.channel] = sequence_start()
            seq = self._seq[message.channel] + 1
            self._seq[message.channel] = seq
            stored = message.model_copy(update={"seq": seq})
            kept = self._kept.setdefault(message.channel, collections.deque(maxlen=self.size))
            kept.append((now, stored))
            self._expire(kept, now)
            return stored

    async def append(self, message: Message) -> Message:
        return self.append_now(message)

    async def since(self, channel: str, after: int) -> Replay:
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(channel)
            if kept is not None:
                self._expire(kept, now)
            messages = [m for _, m in kept] if kept else []
            return _replay(messages, after, self._seq.get(channel, 0), self._start.get(channel, 0))

    async def position(self, channel: str) -> int:
        with self._lock:
            return self._seq.get(channel, 0)

    def _expire(self, kept: collections.deque[tuple[float, Message]], now: float) -> None:
        while kept and now - kept[0][0] > self.ttl:
            kept.popleft()


_APPEND_LUA = """
redis.call('SET', KEYS[1], ARGV[4], 'NX')
redis.call('SET', KEYS[3], ARGV[4], 'NX')
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
local size = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[2])
if n > size then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - size - 1) end
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], math.max(tonumber(ARGV[3]) * 24, 86400))
redis.call('EXPIRE', KEYS[3], math.max(tonumber(ARGV[3]) * 24, 86400))
if ARGV[5] ~= '' then
  -- Hand the frame, its seq spliced in after "id", to every process's hub.
  -- (Lua numbers are doubles: '%d' writes seq whole, where '..' would write 1.7e+15.)
  local k = tonumber(ARGV[6])
  local s = string.format('%d', seq)
  local frame = string.sub(ARGV[1], 1, k) .. '"seq":' .. s .. ',' .. string.sub(ARGV[1], k + 1)
  redis.call('PUBLISH', ARGV[5], s .. ' ' .. frame)
end
return seq
"""
_ID_DECODER = json.JSONDecoder()


class RedisHistoryStore(HistoryStore):
    """History in Redis, shared by every process; one client per event loop."""

    def __init__(self, size: int, ttl: float, url: str, prefix: str) -> None:
        super().__init__(size, ttl)
        self.url = url
        self.prefix = prefix
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            from django_inngest_realtime.scaling import reconnecting_retry

            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=10, retry=reconnecting_retry()
            )
            self._clients[loop] = client
        return client

    def _keys(self, channel: str) -> tuple[str, str, str]:
        base = f"{self.prefix}:h:{{{channel}}}"
        return f"{base}:seq", f"{base}:msgs", f"{base}:start"

    async def append(self, message: Message, publish_to: str = "") -> Message:
        """Append; with ``publish_to``, also publish the stored frame on that Redis
        pub/sub channel, in the same round trip (see ``redis_bus.py``)."""
        frame = message.to_json()
        # The byte offset just after the leading ``"id"`` member, where ``seq`` goes.
        _, end = _ID_DECODER.raw_decode(frame, len('{"id":'))
        seq = await self._client().eval(
            _APPEND_LUA,
            3,
            *self._keys(message.channel),
            frame,
            self.size,
            max(int(self.ttl), 1),
            sequence_start(),
            publish_to,
            len(frame[: end + 1].encode()),
        )
        return message.model_copy(update={"seq": int(seq)})

    async def since(self, channel: str, after: int) -> Replay:
        seq_key, msgs_key, start_key = self._keys(channel)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            pipe.get(start_key)
            # Only what follows ``after``: that is every kept message in all cases but one.
            pipe.zrangebyscore(msgs_key, f"({after}", "+inf", withscores=True)
            position, start, rows = await pipe.execute()
        if after > int(position or 0):  # a position from a lost history: all kept is new
            rows = await self._client().zrangebyscore(msgs_key, "-inf", "+inf", withscores=True)
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=self.ttl)
        kept = [
            message
            for raw, score in rows
            if (message := Message.from_json(raw).model_copy(update={"seq": int(score)})).created_at
            >= cutoff
        ]
        return _replay(kept, after, int(position or 0), int(start or 0))

    async def position(self, channel: str) -> int:
        return int(await self._client().get(self._keys(channel)[0]) or 0)

    async def close(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


_store: HistoryStore | None = None
_store_lock = threading.Lock()


def get_store() -> HistoryStore:
    """Return the configured history store (built on first use)."""
    global _store
    with _store_lock:
        if _store is None:
            cfg = get_config()
            if cfg.HISTORY_STORE == "memory":
                _store = MemoryHistoryStore(cfg.HISTORY_SIZE, cfg.HISTORY_TTL)
            elif cfg.HISTORY_STORE == "redis":
                _store = RedisHistoryStore(
                    cfg.HISTORY_SIZE, cfg.HISTORY_TTL, cfg.REDIS_URL, cfg.GROUP_PREFIX
                )
            else:
                _store = import_string(cfg.HISTORY_STORE)(cfg.HISTORY_SIZE, cfg.HISTORY_TTL)
        return _store


def reset_store() -> None:
    """Forget the store, so the next use builds it from current settings."""
    global _store
    with _store_lock:
        _store = None

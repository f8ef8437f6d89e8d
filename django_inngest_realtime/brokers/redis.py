"""The ``redis`` broker: history in Redis, fan-out over Redis pub/sub (Centrifugo's model).

A publish is one script run (one round trip, ``EVALSHA``): it takes the channel's next
position, keeps the frame in the channel's sorted set (trimmed by size, expiring by
age) and ``PUBLISH``es it, its ``seq`` spliced in, on the pub/sub channel of its
(channel, topic) group, ``<GROUP_PREFIX>:bus:<group>``. Each process's hub holds one
pub/sub connection subscribed to the groups its subscribers use.

Pub/sub reaches the processes connected at that moment; a hub whose connection drops
reconnects, subscribes again and has its subscribers catch up from history.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import weakref
from typing import Any

from django_inngest_realtime.brokers.base import (
    Beat,
    Broker,
    Feed,
    Member,
    Replay,
    Sink,
    replay_after,
    sequence_start,
)
from django_inngest_realtime.brokers.redis_feed import RedisFeed, client_name
from django_inngest_realtime.brokers.redis_presence import RedisPresence
from django_inngest_realtime.brokers.selection import redis_url
from django_inngest_realtime.conf import RealtimeConfig
from django_inngest_realtime.envelope import Message

_APPEND_LUA = """
redis.call('SET', KEYS[1], ARGV[4], 'NX')
redis.call('SET', KEYS[3], ARGV[4], 'NX')
local seq = redis.call('INCR', KEYS[1])
local prev = redis.call('HGET', KEYS[4], ARGV[7]) or '0'
redis.call('HSET', KEYS[4], ARGV[7], seq)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
local size = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[2])
if n > size then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - size - 1) end
local keep = math.max(tonumber(ARGV[3]) * 24, 86400)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], keep)
redis.call('EXPIRE', KEYS[3], keep)
redis.call('EXPIRE', KEYS[4], keep)
-- Hand the frame, its seq spliced in after "id", to every process's hub, after the
-- positions "<seq> <prev> ". (Lua numbers are doubles: '%d' writes seq whole, where '..'
-- would write 1.7e+15.)
local k = tonumber(ARGV[6])
local s = string.format('%d', seq)
local frame = string.sub(ARGV[1], 1, k) .. '"seq":' .. s .. ',' .. string.sub(ARGV[1], k + 1)
redis.call('PUBLISH', ARGV[5], s .. ' ' .. prev .. ' ' .. frame)
return seq
"""
_ID_DECODER = json.JSONDecoder()
#: Connections to Redis one event loop (or the synchronous client) uses at most.
POOL_SIZE = 50


def retry_policy(asynchronous: bool = True) -> Any:
    """A redis-py ``Retry``: three quick retries on connection errors and timeouts."""
    from redis.backoff import ExponentialBackoff

    if asynchronous:
        from redis.asyncio.retry import Retry as AsyncRetry

        return AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), 3)
    from redis.retry import Retry

    return Retry(ExponentialBackoff(cap=1.0, base=0.05), 3)


class RedisBroker(Broker):
    """History and fan-out in Redis, shared by every process."""

    def __init__(self, config: RealtimeConfig, url: str | None = None) -> None:
        super().__init__(config)
        self.url = url or redis_url()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._sync_client: Any = None
        self._sync_script: Any = None
        self._lock = threading.Lock()
        self._presence = RedisPresence(self.prefix, self.presence_ttl)

    def bus(self, group: str) -> str:
        """The Redis pub/sub channel carrying a group's frames."""
        return f"{self.prefix}:bus:{group}"

    def _keys(self, channel: str) -> list[str]:
        base = f"{self.prefix}:h:{{{channel}}}"
        return [f"{base}:seq", f"{base}:msgs", f"{base}:start", f"{base}:last"]

    def _script_args(self, message: Message) -> tuple[list[str], list[Any]]:
        frame = message.to_json()
        # The byte offset just after the leading ``"id"`` member, where ``seq`` goes.
        _, end = _ID_DECODER.raw_decode(frame, len('{"id":'))
        args = [
            frame,
            self.size,
            max(int(self.ttl), 1),
            sequence_start(),
            self.bus(self.group(message.channel, message.topic)),
            len(frame[: end + 1].encode()),
            message.topic,
        ]
        return self._keys(message.channel), args

    def _client(self) -> tuple[Any, Any]:
        """This event loop's client and its registered script."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            import redis.asyncio

            # A blocking pool: a burst of subscribers waits for a connection instead of
            # failing with "Too many connections" (redis-py's default pool fails fast).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=POOL_SIZE,
                timeout=10,
                socket_timeout=10,
                retry=retry_policy(),
                client_name=client_name(),
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            entry = self._clients[loop] = (client, client.register_script(_APPEND_LUA))
        return entry

    def _sync(self) -> tuple[Any, Any]:
        """The client for synchronous code: one, thread-safe, for the whole process."""
        with self._lock:
            if self._sync_client is None:
                import redis

                pool = redis.BlockingConnectionPool.from_url(
                    self.url,
                    max_connections=POOL_SIZE,
                    timeout=10,
                    socket_timeout=10,
                    retry=retry_policy(asynchronous=False),
                    client_name=client_name(),
                )
                self._sync_client = redis.Redis(connection_pool=pool)
                self._sync_script = self._sync_client.register_script(_APPEND_LUA)
            return self._sync_client, self._sync_script

    async def publish(self, message: Message) -> Message:
        _, script = self._client()
        keys, args = self._script_args(message)
        seq = await script(keys=keys, args=args)
        return message.model_copy(update={"seq": int(seq)})

    def publish_sync(self, message: Message) -> Message:
        _, script = self._sync()
        keys, args = self._script_args(message)
        return message.model_copy(update={"seq": int(script(keys=keys, args=args))})

    def _range_after(self, after: int) -> tuple[str, str]:
        # Only what follows ``after``: that is every kept message in all cases but one.
        return f"({after}", "+inf"

    def _replay(self, rows: list[Any], after: int, position: Any, start: Any) -> Replay:
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=self.ttl)
        kept = [
            message
            for raw, score in rows
            if (message := Message.from_json(raw).model_copy(update={"seq": int(score)})).created_at
            >= cutoff
        ]
        return replay_after(kept, after, int(position or 0), int(start or 0))

    async def history(self, channel: str, after: int) -> Replay:
        client, _ = self._client()
        seq_key, msgs_key, start_key, _ = self._keys(channel)
        async with client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            pipe.get(start_key)
            pipe.zrangebyscore(msgs_key, *self._range_after(after), withscores=True)
            position, start, rows = await pipe.execute()
        if after > int(position or 0):  # a position from a lost history: all kept is new
            rows = await client.zrangebyscore(msgs_key, "-inf", "+inf", withscores=True)
        return self._replay(rows, after, position, start)

    def history_sync(self, channel: str, after: int) -> Replay:
        client, _ = self._sync()
        seq_key, msgs_key, start_key, _ = self._keys(channel)
        with client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            pipe.get(start_key)
            pipe.zrangebyscore(msgs_key, *self._range_after(after), withscores=True)
            position, start, rows = pipe.execute()
        if after > int(position or 0):
            rows = client.zrangebyscore(msgs_key, "-inf", "+inf", withscores=True)
        return self._replay(rows, after, position, start)

    async def position(self, channel: str) -> int:
        client, _ = self._client()
        return int(await client.get(self._keys(channel)[0]) or 0)

    def position_sync(self, channel: str) -> int:
        client, _ = self._sync()
        return int(client.get(self._keys(channel)[0]) or 0)

    def connect(self, sink: Sink) -> Feed:
        return RedisFeed(self.url, self.bus, sink)

    async def presence_join(self, channel: str, member: Member, process: str) -> None:
        await self._presence.join(self._client()[0], channel, member, process)

    async def presence_leave(self, channel: str, member_id: str, process: str) -> None:
        await self._presence.leave(self._client()[0], channel, member_id, process)

    async def presence_members(self, channel: str) -> list[Member]:
        return await self._presence.members(self._client()[0], channel)

    async def presence_beat(self, process: str) -> Beat:
        return await self._presence.beat(self._client()[0], process)

    async def aclose(self) -> None:
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].aclose(close_connection_pool=True)

    def close(self) -> None:
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()
            client.connection_pool.disconnect()

"""Presence on the ``redis`` broker.

Keys (all under ``GROUP_PREFIX``): a hash per channel, member id -> the member and the
process holding it; a sorted set of processes scored by their last beat; a set per
process of the (channel, member) it holds, so the members of a process that stopped
beating can be found and removed by whichever process beats next (one wins: ``ZREM``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from django_inngest_realtime.brokers.base import Beat, Member

_SEP = "\x00"


class RedisPresence:
    """Presence for one :class:`~django_inngest_realtime.brokers.redis.RedisBroker`."""

    def __init__(self, prefix: str, ttl: float) -> None:
        self.prefix = prefix
        self.ttl = ttl
        self.processes = f"{prefix}:presence:procs"

    def _members(self, channel: str) -> str:
        return f"{self.prefix}:presence:{{{channel}}}"

    def _held(self, process: str) -> str:
        return f"{self.prefix}:presence:proc:{process}"

    async def join(self, client: Any, channel: str, member: Member, process: str) -> None:
        entry = json.dumps({**member.to_dict(), "p": process})
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(self._members(channel), member.id, entry)
            pipe.sadd(self._held(process), f"{channel}{_SEP}{member.id}")
            pipe.zadd(self.processes, {process: time.time()})
            await pipe.execute()

    async def leave(self, client: Any, channel: str, member_id: str, process: str) -> None:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hdel(self._members(channel), member_id)
            pipe.srem(self._held(process), f"{channel}{_SEP}{member_id}")
            await pipe.execute()

    async def members(self, client: Any, channel: str) -> list[Member]:
        entries = [json.loads(v) for v in (await client.hgetall(self._members(channel))).values()]
        processes = sorted({e["p"] for e in entries})
        beats = await client.zmscore(self.processes, processes) if processes else []
        cutoff = time.time() - self.ttl
        alive = {p for p, beat in zip(processes, beats, strict=True) if beat and beat >= cutoff}
        present = [Member.from_dict(e) for e in entries if e["p"] in alive]
        return sorted(present, key=lambda m: (m.joined_at, m.id))

    async def beat(self, client: Any, process: str) -> Beat:
        now = time.time()
        # ZADD answers 1 when the process was not there: another process took it for gone.
        revived = bool(await client.zadd(self.processes, {process: now}))
        gone: list[tuple[str, Member]] = []
        for raw in await client.zrangebyscore(self.processes, "-inf", now - self.ttl):
            dead = raw.decode()
            if not await client.zrem(self.processes, dead):
                continue  # another process is sweeping it
            for held in await client.smembers(self._held(dead)):
                channel, member_id = held.decode().split(_SEP, 1)
                entry = await client.hget(self._members(channel), member_id)
                await client.hdel(self._members(channel), member_id)
                if entry is not None:
                    gone.append((channel, Member.from_dict(json.loads(entry))))
            await client.delete(self._held(dead))
        return Beat(gone, revived)

"""What every scenario gets: parameters, the run's prefix, tokens and fresh channel names."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from benchmarks.params import Params


@dataclasses.dataclass
class Context:
    params: Params
    prefix: str
    quick: bool
    failures: list[str] = dataclasses.field(default_factory=list)
    _counter: Any = dataclasses.field(default_factory=itertools.count)

    def channel(self, label: str) -> str:
        """A channel name no earlier repetition used."""
        return f"bench:{self.prefix}-{label}-{next(self._counter)}"

    def token(self, channel: str) -> str:
        """A subscription key for ``channel`` (issued with the servers' ``SECRET_KEY``)."""
        from benchmarks.server.channels import TOPIC, bench
        from django_inngest_realtime.tokens import server_subscription_key

        return server_subscription_key(bench(id=channel.removeprefix("bench:")), [TOPIC])

    def fail(self, message: str) -> None:
        """Record a crash or a loss: the run then exits non-zero."""
        self.failures.append(message)

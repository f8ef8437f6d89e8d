"""A real SMTP server in the test process (aiosmtpd): Django's SMTP email backend talks to
it over TCP. ``refuse_next`` makes it answer the next DATA commands with a 451."""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
from typing import Any

from aiosmtpd.controller import Controller

from django_inngest_realtime.testing.daphne import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        #: How many of the next messages to refuse with "451 try again later".
        self.refuse_next = 0
        self.refused = 0
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return int(self.controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages accepted for ``address``."""
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

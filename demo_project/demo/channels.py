"""The demo's channels and topics."""

from __future__ import annotations

from django_inngest_realtime import channel, topic

hello_channel = channel(lambda uuid: f"hello-world.{uuid}").add_topic(topic("logs").type(str))

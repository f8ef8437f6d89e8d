"""The demo's Inngest client and functions."""

from __future__ import annotations

import os

import inngest

from demo_project.demo.channels import hello_channel
from django_inngest_realtime import publish, realtime_middleware

inngest_client = inngest.Inngest(
    app_id="django-inngest-realtime-demo",
    is_production=os.environ.get("INNGEST_DEV", "1") == "0",
    middleware=[realtime_middleware()],
)


@inngest_client.create_function(
    fn_id="hello-world",
    trigger=inngest.TriggerEvent(event="hello-world/hello"),
)
async def hello_world(ctx: inngest.Context) -> None:
    await publish(hello_channel(ctx.event.data["uuid"]).logs("Hello, world!"))


functions = [hello_world]

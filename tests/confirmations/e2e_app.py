"""An app served to the Inngest server double: the agentic workflow, run over real HTTP."""

from __future__ import annotations

from typing import Any

import inngest
import inngest.django
from django.urls import include, path

from django_inngest_realtime import realtime_middleware
from django_inngest_realtime.confirmations import request_confirmation, wait_for_confirmation
from django_inngest_realtime.testing.daphne import free_port
from tests.confirmations.inngest_app import agentic

#: Where the double listens; the client below sends events there.
DOUBLE_PORT = free_port()
DOUBLE_URL = f"http://127.0.0.1:{DOUBLE_PORT}"
client = inngest.Inngest(
    app_id="confirm-e2e",
    api_base_url=DOUBLE_URL,
    event_api_base_url=DOUBLE_URL,
    is_production=False,
    middleware=[realtime_middleware()],
)


@client.create_function(fn_id="agent", trigger=inngest.TriggerEvent(event="e2e/agent"), retries=0)
async def agent(ctx: inngest.Context) -> dict[str, Any]:
    conf = await request_confirmation(
        ctx,
        channel=agentic(ctx.event.data["id"]),
        topic="messages",
        message="Confirm to proceed?",
        timeout=ctx.event.data.get("timeout", "1h"),
        options=ctx.event.data.get("options", []),
        assignees=ctx.event.data.get("assignees", []),
        default=ctx.event.data.get("default"),
    )
    decision = await wait_for_confirmation(ctx, conf)
    if decision is None:
        return {"outcome": "timeout", "token": conf.token}
    out = {"outcome": decision.status, "by": decision.decided_by, "token": conf.token}
    if decision.chosen:
        out.update(chosen=decision.chosen, timed_out=decision.timed_out)
    return out


urlpatterns = [
    inngest.django.serve(client, [agent]),
    path("", include("django_inngest_realtime.urls")),
]

"""The Inngest function of the function-latency scenario, served at ``/api/inngest``.

``bench/function.publish`` with ``{"channel": "<id>", "i": N}`` starts one run whose
single step publishes tick ``N`` on ``bench:<id>``, with ``t`` the wall-clock time just
before the ``publish()`` call. Mounted only when ``BENCH_FUNCTIONS=1`` (see the settings),
so the other scenarios' servers import no Inngest SDK.
"""

from __future__ import annotations

import time
from typing import Any

import inngest

from benchmarks.server.channels import TOPIC, bench
from django_inngest_realtime import publish, realtime_middleware

EVENT = "bench/function.publish"
FUNCTION_ID = "bench-function-publish"

# Dev mode: the scenario points the SDK at its inngest_dev (INNGEST_DEV=<url>).
inngest_client = inngest.Inngest(
    app_id="bench", is_production=False, middleware=[realtime_middleware()]
)


@inngest_client.create_function(
    fn_id=FUNCTION_ID, trigger=inngest.TriggerEvent(event=EVENT), retries=0
)
async def publish_tick(ctx: inngest.Context) -> int | None:
    """One step: publish the event's tick, stamped just before ``publish()``."""
    ref = bench(id=str(ctx.event.data["channel"])).topic(TOPIC)
    index = int(str(ctx.event.data["i"]))

    async def send() -> int | None:
        message: Any = ref({"i": index, "t": time.time()})
        return (await publish(message)).seq

    return await ctx.step.run("publish", send)


functions = [publish_tick]

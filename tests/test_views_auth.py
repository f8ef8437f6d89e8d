"""The SSE view needs no AuthenticationMiddleware when the token carries no user."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import override_settings

from django_inngest_realtime import get_subscription_token, publish
from tests.asgi_client import StreamingResponse
from tests.channels import live

NO_AUTH_MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]


async def test_sse_with_a_token_works_without_authentication_middleware() -> None:
    ref = live("no-auth")
    sent = await publish(ref.logs("hello"))
    token = get_subscription_token(ref, ["logs"])
    with override_settings(MIDDLEWARE=NO_AUTH_MIDDLEWARE):
        app = get_asgi_application()
        async with StreamingResponse(
            app, "/v1/realtime/sse", f"token={token['key']}&since=0"
        ) as res:
            assert res.status == 200, res.buffer
            event = await res.read_data_event()
    assert json.loads(event.split("data: ")[1])["id"] == sent.id


async def test_a_user_bound_token_is_refused_without_authentication_middleware() -> None:
    user = User(pk=7, username="someone")
    token = get_subscription_token(live("bound"), ["logs"], user=user)
    with override_settings(MIDDLEWARE=NO_AUTH_MIDDLEWARE):
        app = get_asgi_application()
        async with StreamingResponse(app, "/v1/realtime/sse", f"token={token['key']}") as res:
            assert res.status == 403

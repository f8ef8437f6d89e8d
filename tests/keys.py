"""Tokens the live-server tests mint in this process for a server in a child process."""

from __future__ import annotations

import uuid
from typing import Any

from django.core import signing

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.tokens import SALT
from tests.helpers import realtime_settings


def token_for(server: DaphneServer, name: str, **kwargs: Any) -> dict[str, Any]:
    """A token minted in this process for ``server`` (its URL as ``apiBaseUrl``)."""
    with realtime_settings(API_BASE_URL=server.url):
        return get_subscription_token(name, **kwargs)


class _Past(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(0)


def refused_keys(server: DaphneServer, name: str) -> dict[str, dict[str, Any]]:
    """A forged, an expired and a wrong-scope (another user's) token for ``name``."""
    good = token_for(server, name, topics=["logs"])
    forged = good["key"][:-4] + ("AAAA" if not good["key"].endswith("AAAA") else "BBBB")
    expired = _Past(salt=SALT).sign_object({"c": name, "t": ["logs"], "u": None}, compress=True)
    other_user = signing.dumps({"c": name, "t": ["logs"], "u": "12345"}, salt=SALT, compress=True)
    return {
        "forged": {**good, "key": forged},
        "expired": {**good, "key": expired},
        "wrong-scope": {**good, "key": other_user},
    }


def unique(prefix: str) -> str:
    return f"live:{prefix}-{uuid.uuid4().hex[:8]}"

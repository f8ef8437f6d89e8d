"""The Inngest signing key this project uses, and the bearer header Inngest's SDKs send with it.

``POST /v1/realtime/token`` authenticates the way Inngest's server does: the SDK sends
``Authorization: Bearer <sha256 of the hex-decoded key>``. Inngest's JavaScript SDK keeps the
key's ``signkey-<env>-`` prefix in front of the hash, its Python SDK drops it: both are
accepted, for the key and for its fallback (``INNGEST_SIGNING_KEY_FALLBACK``, during a key
rotation). With no signing key in dev mode, the endpoint answers anyone, as Inngest's Dev
Server does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re

from django.core.exceptions import ImproperlyConfigured

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.tokens import bearer_key

_PREFIX = re.compile(r"^signkey-\w+-")


@dataclasses.dataclass(frozen=True)
class SigningKeys:
    """The keys an SDK may authenticate with, and whether this is Inngest's dev mode."""

    keys: tuple[str, ...]
    dev: bool


def signing_keys() -> SigningKeys:
    """The keys of ``INNGEST_CLIENT``'s client; without one, ``INNGEST_SIGNING_KEY`` (and
    ``INNGEST_SIGNING_KEY_FALLBACK``) from the environment, as Inngest's SDKs read them."""
    if get_config().INNGEST_CLIENT:
        from django_inngest_realtime.client import get_inngest_client

        client = get_inngest_client()
        found = (client.signing_key, client.signing_key_fallback)
        dev = not client.is_production
    else:
        found = (
            os.environ.get("INNGEST_SIGNING_KEY"),
            os.environ.get("INNGEST_SIGNING_KEY_FALLBACK"),
        )
        dev = (os.environ.get("INNGEST_DEV") or "").strip().lower() not in ("", "0", "false")
    return SigningKeys(tuple(key for key in found if key), dev)


def hashed(key: str) -> tuple[str, str]:
    """What an SDK sends for ``key``: the hash alone (Python SDK) and prefixed (JS SDK)."""
    match = _PREFIX.match(key)
    prefix = match.group(0) if match else ""
    try:
        digest = hashlib.sha256(bytes.fromhex(key[len(prefix) :])).hexdigest()
    except ValueError:
        raise ImproperlyConfigured(
            "The Inngest signing key (INNGEST_SIGNING_KEY, or INNGEST_REALTIME['INNGEST_CLIENT']'s "
            "signing_key) is not 'signkey-<env>-' followed by hexadecimal digits."
        ) from None
    return digest, prefix + digest


def authenticated(authorization: str | None) -> bool:
    """True when ``authorization`` carries one of the signing keys (or in keyless dev mode)."""
    config = signing_keys()
    if not config.keys:
        return config.dev
    presented = bearer_key(authorization)
    if presented is None:
        return False
    # Compare with every form, without stopping early.
    matches = [
        hmac.compare_digest(presented.encode(), form.encode())
        for key in config.keys
        for form in hashed(key)
    ]
    return any(matches)

"""Request signing and key checks, the way Inngest and the SDK's ``net.py`` do them.

* Requests to the app carry ``X-Inngest-Signature: t=<unix seconds>&s=<hex>``, where ``s``
  is HMAC-SHA256 over the JCS-canonical JSON body followed by ``t``, keyed with the
  signing key without its ``signkey-<env>-`` prefix (as UTF-8 text).
* The SDK signs its responses the same way over the raw response body.
* The SDK authenticates to the API with ``Authorization: Bearer <sha256(key bytes)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.parse
from typing import Any

import jcs  # type: ignore[import-untyped]

_PREFIX = re.compile(r"^signkey-\w+-")


def strip_prefix(key: str) -> str:
    match = _PREFIX.match(key)
    return key[match.end() :] if match else key


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) encoding: what the SDK canonicalizes a request body to."""
    return bytes(jcs.canonicalize(value))


def _mac(body: bytes, key: str, timestamp: str) -> str:
    mac = hmac.new(strip_prefix(key).encode(), body, hashlib.sha256)
    mac.update(timestamp.encode())
    return mac.hexdigest()


def sign(body: bytes, key: str, now: int | None = None) -> str:
    """The ``X-Inngest-Signature`` value for a request ``body`` (already canonical JSON)."""
    canonical = canonical_json(json.loads(body)) if body else b""
    timestamp = str(round(time.time()) if now is None else now)
    return f"t={timestamp}&s={_mac(canonical, key, timestamp)}"


def verify_response(body: bytes, header: str | None, keys: list[str]) -> str | None:
    """Check the SDK's response signature; return why it is wrong, or ``None`` if valid."""
    if not header:
        return "the response has no X-Inngest-Signature header"
    parsed = urllib.parse.parse_qs(header)
    timestamp = parsed.get("t", [""])[0]
    signature = parsed.get("s", [""])[0]
    if not timestamp or not signature:
        return f"malformed X-Inngest-Signature {header!r}"
    for key in keys:
        if hmac.compare_digest(signature, _mac(body, key, timestamp)):
            return None
    return "the response's X-Inngest-Signature does not match the signing key"


def hashed_key(key: str) -> str:
    """The bearer token the SDK sends for ``key``: SHA-256 of the key's hex bytes."""
    return hashlib.sha256(bytes.fromhex(strip_prefix(key))).hexdigest()


def bearer_ok(authorization: str | None, keys: list[str]) -> bool:
    """True when ``Authorization`` carries one of ``keys``, hashed (with or without prefix)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    token = strip_prefix(authorization[7:].strip())
    return any(hmac.compare_digest(token, hashed_key(key)) for key in keys)

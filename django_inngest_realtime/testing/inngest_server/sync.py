"""App sync: the ``PUT`` the double sends to a serve URL, out-of-band or in-band."""

from __future__ import annotations

import httpx

from django_inngest_realtime.testing.inngest_server import signing
from django_inngest_realtime.testing.inngest_server.api import Api
from django_inngest_realtime.testing.inngest_server.engine import Engine


class SyncError(RuntimeError):
    """The app refused or failed a sync."""


async def sync_app(api: Api, engine: Engine, url: str, kind: str) -> list[str]:
    """Sync the app at ``url``; returns the ids of its synced functions."""
    options = engine.options
    body = signing.canonical_json({"url": url}) if kind == "in_band" else b""
    headers = {"x-inngest-server-kind": engine.server_kind, "content-type": "application/json"}
    if kind == "in_band":
        headers["x-inngest-sync-kind"] = "in_band"
    if options.signing_key:
        headers["x-inngest-signature"] = signing.sign(body, options.signing_key)
    async with httpx.AsyncClient() as client:
        res = await client.put(url, content=body, headers=headers, timeout=60)
    try:
        payload = res.json()
    except ValueError:
        payload = {"error": res.text}
    error = payload.get("error") or (payload.get("message") if res.status_code >= 300 else None)
    if res.status_code >= 300 or error:
        raise SyncError(f"sync of {url} failed: HTTP {res.status_code}: {error or payload}")
    if res.headers.get("x-inngest-sync-kind") == "in_band":
        if options.check_response_signatures and options.signing_key:
            keys = [k for k in (options.signing_key, options.signing_key_fallback) if k]
            problem = signing.verify_response(
                res.content, res.headers.get("x-inngest-signature"), keys
            )
            if problem:
                raise SyncError(f"in-band sync of {url}: {problem}")
        return api.engine_register(payload)
    with engine.lock:
        functions = list(engine.functions.values())
    return [fn.id for fn in functions if fn.app_url == payload.get("url", url)]

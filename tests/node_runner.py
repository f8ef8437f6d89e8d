"""Run tests/node/client.mjs (Inngest's official clients) and read what it prints."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
#: How long a step of a Node client may take before the test gives up (a hang guard: no
#: assertion depends on it).
GUARD = 60.0

needs_node = pytest.mark.skipif(
    shutil.which("node") is None
    or not (NODE_DIR / "node_modules" / "@inngest" / "realtime").is_dir()
    or not (NODE_DIR / "node_modules" / "inngest").is_dir(),
    reason="needs Node.js and `npm install --prefix tests/node` (.ci/run does both)",
)

CLIENTS = ["v4", "0.4"]


class NodeClient:
    """``async with NodeClient("v4", base_url, token=...) as node: await node.line()``."""

    def __init__(
        self,
        client: str,
        base_url: str,
        *,
        token: dict[str, Any] | None = None,
        mint: dict[str, Any] | None = None,
        count: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.env = {
            **os.environ,
            "CLIENT": client,
            "COUNT": str(count),
            "INNGEST_BASE_URL": base_url,
            **(env or {}),
        }
        # The signing key (if any) comes from ``env`` only, never from this process.
        for name in ("INNGEST_SIGNING_KEY", "INNGEST_SIGNING_KEY_FALLBACK", "INNGEST_DEV"):
            if not (env and name in env):
                self.env.pop(name, None)
        if token is not None:
            self.env["TOKEN"] = json.dumps(token)
        if mint is not None:
            self.env["MINT"] = json.dumps(mint)
        self.process: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def __aenter__(self) -> NodeClient:
        self.started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            "node",
            "--experimental-websocket",
            "--no-warnings",
            "client.mjs",
            cwd=NODE_DIR,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def line(self) -> dict[str, Any]:
        """The next JSON line the client printed."""
        assert self.process is not None and self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), GUARD)
        if not raw:
            stderr = await self.stderr()
            raise AssertionError(f"the Node client exited without output; stderr: {stderr}")
        return dict(json.loads(raw))

    async def lines_until_exit(self) -> list[dict[str, Any]]:
        """Everything else it prints, once it has exited (it exits by itself)."""
        assert self.process is not None and self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), GUARD)
        await asyncio.wait_for(self.process.wait(), GUARD)
        return [json.loads(line) for line in rest.decode().splitlines() if line.strip()]

    async def stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return (await asyncio.wait_for(self.process.stderr.read(), GUARD)).decode()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

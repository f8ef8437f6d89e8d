"""ASGI servers other than Daphne, run as child processes like ``DaphneServer``."""

from __future__ import annotations

import pytest

from django_inngest_realtime.testing.servers import HypercornServer, UvicornServer

__all__ = ["HypercornServer", "UvicornServer", "start_uvicorn"]


def start_uvicorn(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str] | None = None
) -> UvicornServer:
    from tests.conftest import child_env

    pytest.importorskip("uvicorn", reason="needs uvicorn (the test extra installs it)")
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    server = UvicornServer(
        "tests.asgi:application",
        env={**child_env(), **(env or {})},
        log_path=str(log),
    )
    server.start()
    return server

"""Under uvicorn, which implements ASGI's ``websocket.http.response`` extension, a refused
key is answered like Inngest's server does: HTTP 401 with a JSON body, before the upgrade.
(Inngest's JavaScript clients against uvicorn: ``tests/test_inngest_clients.py``.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.asgi_servers import UvicornServer, start_uvicorn
from tests.conftest import post_publish
from tests.keys import refused_keys, token_for, unique


@pytest.fixture(scope="module")
def uvicorn_server(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> Iterator[UvicornServer]:
    srv = start_uvicorn(tmp_path_factory)
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("case", "code"), [("forged", 4401), ("expired", 4410), ("wrong-scope", 4403)]
)
async def test_refused_key_is_http_401_with_a_json_body(
    uvicorn_server: UvicornServer, case: str, code: int
) -> None:
    key = refused_keys(uvicorn_server, unique("uv"))[case]["key"]
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(f"{uvicorn_server.ws_url}/v1/realtime/connect?token={key}"):
            pass
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.body)
    assert body["code"] == code and body["error"]


async def test_a_valid_key_subscribes_under_uvicorn(uvicorn_server: UvicornServer) -> None:
    name = unique("uv-ok")
    key = token_for(uvicorn_server, name, topics=["logs"])["key"]
    async with websockets.connect(f"{uvicorn_server.ws_url}/v1/realtime/connect?token={key}") as ws:
        await post_publish(uvicorn_server, name, ["under uvicorn"])
        frame = json.loads(await ws.recv())
    assert (frame["channel"], frame["data"]) == (name, "under uvicorn")

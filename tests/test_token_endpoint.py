"""``POST /v1/realtime/token`` as Inngest's server has it: authenticated by the signing key
(the hash an SDK sends), a list of topics in, ``201 {"jwt": ...}`` out."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import inngest
import pytest
from django.test import Client, override_settings
from inngest._internal.transforms import hash_signing_key  # what the Python SDK sends

from django_inngest_realtime.tokens import verify_token

KEY = f"signkey-prod-{secrets.token_hex(32)}"
FALLBACK = f"signkey-prod-{secrets.token_hex(32)}"
BODY = [{"channel": "live:1", "name": "logs", "kind": "run"}]

prod_client = inngest.Inngest(app_id="tokens", is_production=True, signing_key=KEY)
dev_client = inngest.Inngest(app_id="tokens", is_production=False)


def js_sdk_header(key: str) -> str:
    """``Authorization`` as inngest-js sends it: the key's prefix kept before the hash."""
    prefix, raw = key[: len("signkey-prod-")], key[len("signkey-prod-") :]
    return f"Bearer {prefix}{hashlib.sha256(bytes.fromhex(raw)).hexdigest()}"


def post(body: Any = BODY, authorization: str | None = None, raw: str | None = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    client = Client(enforce_csrf_checks=True)  # exempt: no session, no CSRF token
    data = raw if raw is not None else json.dumps(body)
    return client.post("/v1/realtime/token", data, "application/json", **headers)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", KEY)
    monkeypatch.setenv("INNGEST_SIGNING_KEY_FALLBACK", FALLBACK)
    monkeypatch.delenv("INNGEST_DEV", raising=False)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(js_sdk_header(KEY), id="js-sdk"),
        pytest.param(f"Bearer {hash_signing_key(KEY)}", id="python-sdk"),
        pytest.param(js_sdk_header(FALLBACK), id="fallback-js"),
        pytest.param(f"Bearer {hash_signing_key(FALLBACK)}", id="fallback-python"),
    ],
)
@pytest.mark.django_db
def test_the_sdks_hashed_signing_key_mints_a_token(keys: None, header: str) -> None:
    res = post(authorization=header)
    assert res.status_code == 201, res.content
    assert set(res.json()) == {"jwt"}
    scope = verify_token(res.json()["jwt"])
    assert (scope.channel, scope.topics, scope.user_id) == ("live:1", ("logs",), None)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ",
        f"Bearer {KEY}",  # the key itself is never sent
        f"Bearer {hash_signing_key(KEY)}x",
        f"Basic {hash_signing_key(KEY)}",
        js_sdk_header(f"signkey-prod-{secrets.token_hex(32)}"),
    ],
)
@pytest.mark.django_db
def test_anything_else_is_not_authenticated(keys: None, header: str | None) -> None:
    res = post(authorization=header)
    assert (res.status_code, res.json()) == (401, {"error": "Not authenticated"})


@pytest.mark.django_db
def test_server_tokens_carry_no_user_and_skip_authorize(keys: None) -> None:
    body = [{"channel": "private:ann", "name": "logs", "kind": "run"}]
    res = post(body, js_sdk_header(KEY))
    assert res.status_code == 201
    assert verify_token(res.json()["jwt"], user=None).channel == "private:ann"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("{", 400),
        ("", 400),
        ('{"channel": "live:1"}', 400),
        ("[]", 400),
        ('[{"channel": "live:1"}]', 400),
        ('[{"name": "logs"}]', 400),
        ('[{"channel": "live:1", "name": "logs", "kind": "event"}]', 400),
        ('[{"channel": "live:1", "name": "logs"}, {"channel": "live:2", "name": "logs"}]', 400),
        ('[{"channel": "nothing-matches", "name": "logs"}]', 404),
        ('[{"channel": "live:1", "name": "nope"}]', 404),
    ],
)
@pytest.mark.django_db
def test_bad_bodies(keys: None, raw: str, status: int) -> None:
    res = post(raw=raw, authorization=js_sdk_header(KEY))
    assert res.status_code == status
    assert res.json()["error"]


@pytest.mark.django_db
def test_only_post(keys: None) -> None:
    assert Client().get("/v1/realtime/token").status_code == 405


@pytest.mark.django_db
def test_dev_mode_without_a_key_answers_anyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INNGEST_SIGNING_KEY", raising=False)
    monkeypatch.delenv("INNGEST_SIGNING_KEY_FALLBACK", raising=False)
    monkeypatch.setenv("INNGEST_DEV", "0")
    assert post().status_code == 401  # no key, not dev: nobody
    monkeypatch.setenv("INNGEST_DEV", "1")
    assert post().status_code == 201
    monkeypatch.setenv("INNGEST_DEV", "http://127.0.0.1:8288")
    assert post(authorization="Bearer ").status_code == 201


@pytest.mark.django_db
def test_keys_of_the_configured_inngest_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INNGEST_SIGNING_KEY", raising=False)
    monkeypatch.setenv("INNGEST_DEV", "1")  # ignored: the client decides
    path = "tests.test_token_endpoint.prod_client"
    with override_settings(INNGEST_REALTIME={"INNGEST_CLIENT": path}):
        assert post().status_code == 401
        assert post(authorization=js_sdk_header(KEY)).status_code == 201
    with override_settings(
        INNGEST_REALTIME={"INNGEST_CLIENT": "tests.test_token_endpoint.dev_client"}
    ):
        assert post().status_code == 201


@pytest.mark.django_db
def test_a_signing_key_that_is_not_hex_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-not-hex")
    with pytest.raises(ImproperlyConfigured, match="INNGEST_SIGNING_KEY"):
        post(authorization=js_sdk_header(KEY))

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import Client, RequestFactory, override_settings

from django_inngest_realtime.tokens import (
    SALT,
    TokenExpired,
    TokenForbidden,
    TokenInvalid,
    TokenMalformed,
    get_subscription_token,
    verify_token,
)
from tests.channels import live, private
from tests.helpers import realtime_settings


class FakeUser:
    is_authenticated = True

    def __init__(self, pk: int, username: str = "") -> None:
        self.pk = pk
        self.username = username


def test_token_shape_and_scope() -> None:
    token = get_subscription_token(live("1"), topics=["logs"], user=FakeUser(5))
    assert set(token) == {"channel", "topics", "key", "apiBaseUrl"}
    assert token["apiBaseUrl"] == settings.INNGEST_REALTIME["API_BASE_URL"]
    assert (token["channel"], token["topics"]) == ("live:1", ["logs"])
    scope = verify_token(token["key"], user=FakeUser(5), topics=["logs"])
    assert (scope.channel, scope.topics, scope.user_id) == ("live:1", ("logs",), "5")


def test_all_topics_by_default_and_by_name() -> None:
    token = get_subscription_token("live:2")
    assert token["topics"] == ["logs", "votes"]
    with pytest.raises(LookupError, match="no topic"):
        get_subscription_token("live:2", topics=["nope"])
    with pytest.raises(LookupError):
        get_subscription_token("nothing-matches-this")


def test_bound_to_the_user_it_was_issued_to() -> None:
    key = get_subscription_token(live("1"), user=FakeUser(5))["key"]
    with pytest.raises(TokenForbidden, match="another user"):
        verify_token(key, user=FakeUser(6))
    with pytest.raises(TokenForbidden):
        verify_token(key, user=AnonymousUser())
    unbound = get_subscription_token(live("1"), user=FakeUser(5), bind_user=False)["key"]
    assert verify_token(unbound, user=None).user_id is None


def test_authorize_runs_when_issuing() -> None:
    assert get_subscription_token(private("ann"), user=FakeUser(1, "ann"))
    with pytest.raises(PermissionDenied, match="private:ann"):
        get_subscription_token(private("ann"), user=FakeUser(2, "bob"))
    with pytest.raises(PermissionDenied):
        get_subscription_token("private:ann", user=AnonymousUser())


def test_out_of_scope_channel_and_topics() -> None:
    key = get_subscription_token(live("1"), topics=["logs"])["key"]
    with pytest.raises(TokenForbidden, match="channel 'live:2'"):
        verify_token(key, channel="live:2")
    with pytest.raises(TokenForbidden, match="votes"):
        verify_token(key, topics=["votes"])


def test_expired() -> None:
    key = get_subscription_token(live("1"))["key"]
    with realtime_settings(TOKEN_TTL=-1):
        with pytest.raises(TokenExpired) as info:
            verify_token(key)
    assert (info.value.code, info.value.status) == (4410, 410)


@pytest.mark.parametrize("bad", [None, "", 42, "x" * 5000, "garbage", "a:b"])
def test_malformed(bad: object) -> None:
    with pytest.raises(TokenMalformed) as info:
        verify_token(bad)
    assert info.value.code == 4400


def test_tampered_truncated_and_forged() -> None:
    key = get_subscription_token(live("1"))["key"]
    last = "A" if key[-1] != "A" else "B"
    with pytest.raises(TokenInvalid):
        verify_token(key[:-1] + last)
    with pytest.raises((TokenInvalid, TokenMalformed)):
        verify_token(key[: len(key) // 2])
    forged = signing.dumps({"c": "live:1", "t": ["logs"], "u": None}, salt=SALT, key="guess")
    with pytest.raises(TokenInvalid):
        verify_token(forged)
    other_salt = signing.dumps({"c": "live:1", "t": ["logs"], "u": None}, salt="other")
    with pytest.raises(TokenInvalid):
        verify_token(other_salt)


def test_secret_key_rotation() -> None:
    with override_settings(SECRET_KEY="old-secret"):
        key = get_subscription_token(live("1"))["key"]
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]):
        assert verify_token(key).channel == "live:1"
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(TokenInvalid):
            verify_token(key)


def test_api_base_url_setting() -> None:
    with realtime_settings(API_BASE_URL="https://rt.example.com/"):
        assert get_subscription_token(live("1"))["apiBaseUrl"] == "https://rt.example.com/"
        request = RequestFactory().get("/", HTTP_HOST="other.example")
        assert get_subscription_token(live("1"), request=request)["apiBaseUrl"] == (
            "https://rt.example.com/"
        )


def test_api_base_url_is_built_from_the_request_else_an_error() -> None:
    with override_settings(INNGEST_REALTIME={}):
        request = RequestFactory().get("/page", HTTP_HOST="site.example:8000", secure=True)
        token = get_subscription_token(live("1"), request=request)
        assert token["apiBaseUrl"] == "https://site.example:8000/"
        with pytest.raises(ImproperlyConfigured, match=r"INNGEST_REALTIME\['API_BASE_URL'\]"):
            get_subscription_token(live("1"))


@pytest.mark.parametrize("relative", ["/", "rt.example.com", "//rt.example.com/"])
def test_api_base_url_must_be_absolute(relative: str) -> None:
    with override_settings(INNGEST_REALTIME={"API_BASE_URL": relative}):
        with pytest.raises(ImproperlyConfigured, match="absolute"):
            get_subscription_token(live("1"))


@pytest.mark.django_db
def test_refresh_view_requires_csrf_and_post() -> None:
    user = User.objects.create_user("ann", password="pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = json.dumps({"channel": "private:ann", "topics": ["logs"]})
    assert client.post("/v1/realtime/token/refresh", body, "application/json").status_code == 403
    assert client.get("/v1/realtime/token/refresh").status_code == 405
    client.get("/admin/login/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    res = client.post("/v1/realtime/token/refresh", body, "application/json", HTTP_X_CSRFTOKEN=csrf)
    assert res.status_code == 200, res.content
    data = res.json()
    assert data["channel"] == "private:ann" and data["jwt"] == data["key"]
    assert data["apiBaseUrl"] == "http://testserver/"
    assert verify_token(data["key"], user=user).channel == "private:ann"


@pytest.mark.django_db
def test_refresh_view_errors() -> None:
    client = Client()
    client.force_login(User.objects.create_user("bob"))

    def post(body: object) -> int:
        return client.post(
            "/v1/realtime/token/refresh", json.dumps(body), "application/json"
        ).status_code

    assert post({"channel": "private:ann", "topics": ["logs"]}) == 403
    assert post({"channel": "no-such-channel"}) == 404
    assert post({"channel": "live:1", "topics": ["nope"]}) == 404
    assert post({"topics": ["logs"]}) == 400
    assert (
        post([{"channel": "live:1", "name": "logs"}, {"channel": "live:2", "name": "logs"}]) == 400
    )
    assert post([{"channel": "live:1", "name": "logs", "kind": "run"}]) == 200
    assert client.post("/v1/realtime/token/refresh", "{", "application/json").status_code == 400
    form = client.post("/v1/realtime/token/refresh", {"channel": "live:3", "topics": ["logs"]})
    assert form.status_code == 200 and form.json()["topics"] == ["logs"]


def test_authorize_may_decide_by_the_request() -> None:
    """An ``authorize`` that names ``request`` gets the request the token is issued for."""
    from django_inngest_realtime import channel, topic

    seen: list[object] = []

    def by_header(user: object, room: str, request: object = None) -> bool:
        seen.append(request)
        return request is not None and request.headers.get("X-Room") == room  # type: ignore[attr-defined]

    rooms = channel("req-room:{room}", authorize=by_header).add_topic(topic("logs").type(str))
    request = RequestFactory().get("/", HTTP_X_ROOM="a")
    request.user = AnonymousUser()
    assert get_subscription_token(rooms("a"), request=request)["channel"] == "req-room:a"
    with pytest.raises(PermissionDenied):
        get_subscription_token(rooms("b"), request=request)
    with pytest.raises(PermissionDenied):
        get_subscription_token(rooms("a"), user=AnonymousUser())  # no request: None
    assert seen[:2] == [request, request] and seen[2] is None


@pytest.mark.django_db
def test_the_demo_channels_show_the_authorization_pattern() -> None:
    """Anonymous visitors may read the public feeds, not the approvals channel (prompts and
    confirmation tokens), and only the session that started a run may watch it."""
    from django.contrib.auth.models import User

    from demo_project.demo import channels as demo

    anon = Client()

    def refresh(client: Client, name: str) -> int:
        body = json.dumps({"channel": name})
        return client.post("/v1/realtime/token/refresh", body, "application/json").status_code

    assert refresh(anon, "global") == 200
    assert refresh(anon, "post:1") == 200
    assert refresh(anon, "agentic-workflow") == 403
    assert refresh(anon, "hello-world.abc") == 403
    assert refresh(anon, "story.abc") == 403
    session = anon.session
    session[demo.STARTED_RUNS] = ["abc"]
    session.save()
    assert refresh(anon, "hello-world.abc") == 200  # this session started it
    assert refresh(anon, "story.abc") == 200
    assert refresh(anon, "hello-world.other") == 403
    staff = Client()
    staff.force_login(User.objects.create_user("staffer", is_staff=True))
    assert refresh(staff, "agentic-workflow") == 200

"""``serve_inngest()``: the serve endpoint that lets system checks speak first, and the
checks about where the realtime URLs are mounted."""

from __future__ import annotations

import json
import types

import inngest
import pytest
from django.core.checks import run_checks
from django.test import AsyncClient, override_settings
from django.urls import include, path

from django_inngest_realtime.serve import serve_inngest

MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def urlconf(*patterns: object) -> types.ModuleType:
    module = types.ModuleType("urlconf_under_test")
    module.urlpatterns = list(patterns)  # type: ignore[attr-defined]
    return module


def realtime_urls(prefix: str = "") -> object:
    return path(prefix, include("django_inngest_realtime.urls"))


def ids(root: types.ModuleType) -> set[str]:
    with override_settings(ROOT_URLCONF=root, CHANNEL_LAYERS=MEMORY, DEBUG=True):
        return {m.id for m in run_checks() if (m.id or "").startswith("django_inngest_realtime")}


def make_function(client: inngest.Inngest) -> inngest.Function:  # type: ignore[type-arg]
    @client.create_function(fn_id="noop", trigger=inngest.TriggerEvent(event="t/noop"))
    async def noop(ctx: inngest.Context) -> None:
        return None

    return noop


@pytest.fixture
def prod_client(monkeypatch: pytest.MonkeyPatch) -> inngest.Inngest:
    monkeypatch.delenv("INNGEST_SIGNING_KEY", raising=False)
    monkeypatch.delenv("INNGEST_DEV", raising=False)
    return inngest.Inngest(app_id="prod-app", is_production=True)


def test_the_sdk_serve_raises_at_urlconf_time(prod_client: inngest.Inngest) -> None:
    # Why serve_inngest exists: the SDK checks the key when the URLconf is imported.
    import inngest.django

    with pytest.raises(Exception) as raised:
        inngest.django.serve(prod_client, [make_function(prod_client)])
    assert raised.typename == "SigningKeyMissingError"


async def test_missing_signing_key_is_e005_and_a_500_saying_why(
    prod_client: inngest.Inngest,
) -> None:
    root = urlconf(realtime_urls(), serve_inngest(prod_client, [make_function(prod_client)]))
    assert ids(root) == {"django_inngest_realtime.E005"}
    with override_settings(ROOT_URLCONF=root, CHANNEL_LAYERS=MEMORY):
        [error] = [m for m in run_checks() if m.id == "django_inngest_realtime.E005"]
        assert "'prod-app'" in error.msg and "INNGEST_SIGNING_KEY" in (error.hint or "")
        res = await AsyncClient().put("/api/inngest")
    assert res.status_code == 500
    body = json.loads(res.content)
    assert "production mode without a signing key" in body["error"]
    assert "INNGEST_SIGNING_KEY" in body["hint"]


async def test_it_serves_as_the_sdk_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INNGEST_DEV", raising=False)
    signed = inngest.Inngest(
        app_id="signed-app", is_production=True, signing_key="signkey-prod-" + "ab" * 32
    )
    root = urlconf(realtime_urls(), serve_inngest(signed, [make_function(signed)]))
    assert ids(root) == set()
    with override_settings(ROOT_URLCONF=root, CHANNEL_LAYERS=MEMORY):
        res = await AsyncClient().get("/api/inngest")  # unsigned: the SDK refuses it
    assert res.status_code == 401
    dev = inngest.Inngest(app_id="dev-app", is_production=False)
    root = urlconf(realtime_urls(), serve_inngest(dev, [make_function(dev)]))
    with override_settings(ROOT_URLCONF=root, CHANNEL_LAYERS=MEMORY):
        res = await AsyncClient().get("/api/inngest")
    assert res.status_code == 200
    assert json.loads(res.content)["function_count"] == 1


def test_serve_path_and_name() -> None:
    client = inngest.Inngest(app_id="dev-app", is_production=False)
    pattern = serve_inngest(client, [make_function(client)], serve_path="/hooks/inngest")
    assert str(pattern.pattern) == "hooks/inngest" and pattern.name == "inngest"


def test_realtime_urls_under_a_prefix_are_e008() -> None:
    assert ids(urlconf(realtime_urls("realtime/"))) == {"django_inngest_realtime.E010"}
    assert ids(urlconf(realtime_urls())) == set()


def test_realtime_urls_not_included_is_w003() -> None:
    assert ids(urlconf()) == {"django_inngest_realtime.W005"}


def test_the_configured_client_is_checked_once() -> None:
    # INNGEST_CLIENT and serve_inngest() name the same client: one E005, not two.
    import tests.test_serve as here

    here.shared = inngest.Inngest(app_id="shared", is_production=True)  # type: ignore[attr-defined]
    root = urlconf(realtime_urls(), serve_inngest(here.shared, [make_function(here.shared)]))
    with override_settings(
        INNGEST_REALTIME={"INNGEST_CLIENT": "tests.test_serve.shared"}, ROOT_URLCONF=root
    ):
        found = [m.id for m in run_checks() if m.id == "django_inngest_realtime.E005"]
    assert found == ["django_inngest_realtime.E005"]


async def test_a_key_set_after_the_client_was_made_counts(
    prod_client: inngest.Inngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK reads INNGEST_SIGNING_KEY again when it builds the view; so do the checks.
    root = urlconf(realtime_urls(), serve_inngest(prod_client, [make_function(prod_client)]))
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-" + "cd" * 32)
    assert ids(root) == set()
    with override_settings(ROOT_URLCONF=root, CHANNEL_LAYERS=MEMORY):
        res = await AsyncClient().get("/api/inngest")
    assert res.status_code == 401  # served by the SDK, which wants a signed request

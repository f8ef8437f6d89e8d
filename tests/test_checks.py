from __future__ import annotations

import re

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from django_inngest_realtime.scaling import redis_channel_layer

MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("django_inngest_realtime")}


def test_clean_settings_pass() -> None:
    with override_settings(CHANNEL_LAYERS=MEMORY, DEBUG=True):
        assert ids() == set()


def test_e001_no_channel_layer() -> None:
    with override_settings(CHANNEL_LAYERS={}):
        assert "django_inngest_realtime.E001" in ids()


def test_e002_no_asgi_application() -> None:
    with override_settings(ASGI_APPLICATION=None, CHANNEL_LAYERS=MEMORY):
        assert "django_inngest_realtime.E002" in ids()


def test_w001_memory_layer_without_debug() -> None:
    with override_settings(CHANNEL_LAYERS=MEMORY, DEBUG=False):
        assert ids() == {"django_inngest_realtime.W001"}


def test_e003_redis_without_socket_timeout_none() -> None:
    bad = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [("127.0.0.1", 6379)]},
        }
    }
    with override_settings(CHANNEL_LAYERS=bad):
        assert "django_inngest_realtime.E003" in ids()
    with override_settings(CHANNEL_LAYERS={"default": redis_channel_layer()}):
        assert "django_inngest_realtime.E003" not in ids()


def test_e004_bad_setting() -> None:
    with override_settings(INNGEST_REALTIME={"NOPE": 1}, CHANNEL_LAYERS=MEMORY):
        assert "django_inngest_realtime.E004" in ids()


def test_every_id_is_documented() -> None:
    text = open("docs/checks.md").read()
    source = open("django_inngest_realtime/checks.py").read()
    check_ids = set(re.findall(r'id="(django_inngest_realtime\.[EW]\d{3})"', source))
    assert len(check_ids) >= 15
    for check_id in check_ids:
        assert f"`{check_id}`" in text, check_id


def test_inngest_client_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    import inngest

    import tests.test_checks as here

    monkeypatch.delenv("INNGEST_SIGNING_KEY", raising=False)
    here.prod_client = inngest.Inngest(app_id="x", is_production=True)  # type: ignore[attr-defined]
    here.signed_client = inngest.Inngest(  # type: ignore[attr-defined]
        app_id="x", is_production=True, signing_key="signkey-prod-0123456789abcdef"
    )
    here.dev_client = inngest.Inngest(app_id="x", is_production=False)  # type: ignore[attr-defined]
    here.not_a_client = object()  # type: ignore[attr-defined]

    def ids_for(client: str, debug: bool = True) -> set[str]:
        with override_settings(
            INNGEST_REALTIME={"INNGEST_CLIENT": f"tests.test_checks.{client}"},
            CHANNEL_LAYERS=MEMORY,
            DEBUG=debug,
        ):
            return ids() - {"django_inngest_realtime.W001"}

    assert ids_for("prod_client") == {"django_inngest_realtime.E005"}
    assert ids_for("signed_client", debug=False) == set()
    assert ids_for("dev_client") == set()
    assert ids_for("dev_client", debug=False) == {"django_inngest_realtime.W002"}
    assert ids_for("not_a_client") == {"django_inngest_realtime.E006"}
    assert ids_for("missing_name") == {"django_inngest_realtime.E006"}


def test_forwarding_without_a_client_is_an_error() -> None:
    def ids_for(realtime: dict[str, object]) -> set[str]:
        with override_settings(INNGEST_REALTIME=realtime, CHANNEL_LAYERS=MEMORY):
            return ids() - {"django_inngest_realtime.W001"}

    assert ids_for({"FORWARD_TO_INNGEST": True}) == {"django_inngest_realtime.E007"}
    assert ids_for({"FORWARD_TO_INNGEST": False}) == set()
    assert ids_for({}) == set()


RABBIT = {"default": {"BACKEND": "channels_rabbitmq.core.RabbitmqChannelLayer"}}


def test_broker_follows_the_channel_layer_by_default() -> None:
    from django_inngest_realtime.brokers import broker_name, redis_url

    cases = [
        (MEMORY, "local"),
        ({}, "local"),
        ({"default": redis_channel_layer("redis://10.0.0.5:6380/2")}, "redis"),
        (RABBIT, "channels"),
    ]
    for layers, expected in cases:
        with override_settings(CHANNEL_LAYERS=layers, INNGEST_REALTIME={}):
            assert broker_name() == expected
    with override_settings(
        CHANNEL_LAYERS={"default": redis_channel_layer("redis://10.0.0.5:6380/2")},
        INNGEST_REALTIME={},
    ):
        assert redis_url() == "redis://10.0.0.5:6380/2"  # the layer's own Redis
    with override_settings(CHANNEL_LAYERS=MEMORY, INNGEST_REALTIME={"REDIS_URL": "redis://x/1"}):
        assert redis_url() == "redis://x/1"


def test_w003_local_broker_with_a_cross_process_layer() -> None:
    with override_settings(CHANNEL_LAYERS=RABBIT, INNGEST_REALTIME={"BROKER": "local"}):
        assert "django_inngest_realtime.W003" in ids()
    with override_settings(CHANNEL_LAYERS=MEMORY, INNGEST_REALTIME={"BROKER": "local"}):
        assert "django_inngest_realtime.W003" not in ids()


def test_e009_channels_broker_on_the_in_memory_layer() -> None:
    with override_settings(CHANNEL_LAYERS=MEMORY, INNGEST_REALTIME={"BROKER": "channels"}):
        assert "django_inngest_realtime.E009" in ids()


def test_e008_broker_that_cannot_be_built() -> None:
    for name in ("no.such.Broker", "django_inngest_realtime.conf.RealtimeConfig"):
        with override_settings(CHANNEL_LAYERS=MEMORY, INNGEST_REALTIME={"BROKER": name}):
            assert "django_inngest_realtime.E008" in ids()


def test_w004_redis_broker_without_redis() -> None:
    unreachable = {"BROKER": "redis", "REDIS_URL": "redis://127.0.0.1:1/0"}
    with override_settings(CHANNEL_LAYERS=MEMORY, INNGEST_REALTIME=unreachable):
        assert "django_inngest_realtime.W004" in ids()

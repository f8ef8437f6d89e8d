from __future__ import annotations

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
    for check_id in ("E001", "E002", "E003", "E004", "W001"):
        assert f"django_inngest_realtime.{check_id}" in text

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_inngest_realtime.conf import DEFAULTS, get_config


def test_defaults_are_documented() -> None:
    text = open("docs/settings.md").read()
    for key in DEFAULTS:
        assert f"`{key}`" in text, key


def test_override_settings_is_seen() -> None:
    with override_settings(INNGEST_REALTIME={"HISTORY_SIZE": 7}):
        assert get_config().HISTORY_SIZE == 7
        assert get_config().MAX_PAYLOAD_BYTES == 512 * 1024
    assert get_config().HISTORY_SIZE == DEFAULTS["HISTORY_SIZE"]


def test_unknown_key_is_named() -> None:
    with override_settings(INNGEST_REALTIME={"HISTORY_SIZ": 7}):
        with pytest.raises(ImproperlyConfigured, match="HISTORY_SIZ"):
            get_config()


def test_wrong_type_is_named() -> None:
    with override_settings(INNGEST_REALTIME={"HISTORY_SIZE": "7"}):
        with pytest.raises(ImproperlyConfigured, match=r"HISTORY_SIZE.*int"):
            get_config()
    with override_settings(INNGEST_REALTIME={"SSE_KEEPALIVE": True}):
        with pytest.raises(ImproperlyConfigured, match="SSE_KEEPALIVE"):
            get_config()


def test_int_accepted_for_float() -> None:
    with override_settings(INNGEST_REALTIME={"SSE_KEEPALIVE": 3}):
        assert get_config().SSE_KEEPALIVE == 3


def test_not_a_dict() -> None:
    with override_settings(INNGEST_REALTIME=["x"]):
        with pytest.raises(ImproperlyConfigured, match="must be a dict"):
            get_config()


def test_allowed_origins_list_or_tuple_of_origins() -> None:
    listed = ["https://app.example.com", "http://localhost:5173", "*"]
    with override_settings(INNGEST_REALTIME={"ALLOWED_ORIGINS": listed}):
        assert get_config().ALLOWED_ORIGINS == tuple(listed)
    with override_settings(INNGEST_REALTIME={"ALLOWED_ORIGINS": "https://app.example.com"}):
        with pytest.raises(ImproperlyConfigured, match=r"ALLOWED_ORIGINS.*must be list"):
            get_config()
    for bad in ["app.example.com", "https://app.example.com/path", "ftp://x.example", 5]:
        with override_settings(INNGEST_REALTIME={"ALLOWED_ORIGINS": [bad]}):
            with pytest.raises(ImproperlyConfigured, match=r"ALLOWED_ORIGINS.*not"):
                get_config()

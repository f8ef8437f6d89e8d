"""The project's Inngest client, named by ``INNGEST_REALTIME["INNGEST_CLIENT"]``."""

from __future__ import annotations

import inngest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_inngest_realtime.conf import get_config


def get_inngest_client() -> inngest.Inngest:
    """The project's Inngest client, named by ``INNGEST_REALTIME["INNGEST_CLIENT"]``."""
    path = get_config().INNGEST_CLIENT
    if not path:
        raise ImproperlyConfigured(
            "Set INNGEST_REALTIME['INNGEST_CLIENT'] to the dotted path of your inngest.Inngest "
            "client (for example 'myproject.inngest.inngest_client')."
        )
    try:
        client = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"INNGEST_REALTIME['INNGEST_CLIENT']: {exc}") from exc
    if not isinstance(client, inngest.Inngest):
        raise ImproperlyConfigured(
            f"INNGEST_REALTIME['INNGEST_CLIENT'] = {path!r} is not an inngest.Inngest client."
        )
    return client

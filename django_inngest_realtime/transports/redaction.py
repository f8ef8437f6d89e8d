"""Keep subscription keys out of access logs.

Inngest's own clients put the key in the query string (``?token=KEY``), as our widgets'
SSE fallback does, and ASGI servers log the full request path. Installed when the app is
ready (``apps.py``):

* uvicorn (``uvicorn.access``), hypercorn (``hypercorn.access``), Django's runserver
  (``django.server``), Daphne's runserver (``django.channels.server``) and Django's request
  errors (``django.request``): a logging filter rewrites ``token=...`` in the message's
  arguments;
* Daphne's own access log, which its command line writes straight to a stream without
  the ``logging`` module: ``transports/daphne.py`` wraps its ``AccessLogGenerator`` when it
  has the shape this was tested with (Daphne 4.1-4.2); otherwise a warning says the access
  log is not covered.

Paths, methods and statuses stay in the log; only the key's value becomes ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
_TOKEN = re.compile(r"(?i)((?:^|[?&;])token=)[^&;#\s\"']*")
#: The loggers that write request paths.
LOGGERS = (
    "uvicorn.access",
    "hypercorn.access",
    "django.server",
    "django.channels.server",
    "django.request",
)


def redact(text: str) -> str:
    """``text`` with the value of every ``token=`` query parameter replaced."""
    return _TOKEN.sub(lambda m: m.group(1) + REDACTED, text) if "token=" in text.lower() else text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_scrub(v) for v in value)
    return value


class RedactTokens(logging.Filter):
    """A logging filter that removes subscription keys from a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = _scrub(record.args)
        return True


_FILTER = RedactTokens()
_installed = False


def install() -> None:
    """Add the filter to the servers' loggers and wrap Daphne's access log (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    _wrap_daphne_access_log()


def _wrap_daphne_access_log() -> None:
    if "daphne.server" not in sys.modules:
        return  # not served by Daphne (its access log is Daphne's command line's)
    from django_inngest_realtime.transports import daphne

    daphne.redact_access_log(_scrub)

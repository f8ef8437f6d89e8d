"""Keep subscription keys out of access logs.

Inngest's own clients put the key in the query string (``?token=KEY``), as our widgets'
SSE fallback does, and ASGI servers log the full request path. Installed when the app is
ready (``apps.py``):

* uvicorn (``uvicorn.access``), hypercorn (``hypercorn.access``), Django's runserver
  (``django.server``), Daphne's runserver (``django.channels.server``) and Django's request
  errors (``django.request``): a logging filter rewrites ``token=...`` in the message's
  arguments;
* Daphne's own access log, which its command line writes straight to a stream without
  the ``logging`` module: its ``AccessLogGenerator`` is wrapped, when it has the shape this
  was tested with (Daphne 4.1-4.2); otherwise a warning says the access log is not covered.

Paths, methods and statuses stay in the log; only the key's value becomes ``[redacted]``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("django_inngest_realtime")

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
    try:
        from daphne.access import AccessLogGenerator
    except ImportError:
        return  # Daphne is not installed
    call = AccessLogGenerator.__call__
    if getattr(call, "_redacts_tokens", False):
        return
    try:
        params = list(inspect.signature(call).parameters)
    except (TypeError, ValueError):
        params = []
    if params != ["self", "protocol", "action", "details"]:
        logger.warning(
            "Daphne's access log is not redacted: AccessLogGenerator.__call__ takes %s, "
            "not (protocol, action, details); subscription keys in query strings may be "
            "logged. Tested with Daphne 4.1-4.2.",
            params,
        )
        return

    @functools.wraps(call)
    def redacting(self: Any, protocol: Any, action: Any, details: Any) -> Any:
        if isinstance(details, Mapping):
            details = _scrub(details)
        return call(self, protocol, action, details)

    redacting._redacts_tokens = True  # type: ignore[attr-defined]
    AccessLogGenerator.__call__ = redacting

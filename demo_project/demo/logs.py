"""The demo's console: Daphne's access line for a failed run is not a server error."""

from __future__ import annotations

import logging


class FailedRunAccessLine(logging.Filter):
    """Show ``POST /api/inngest... 500`` as information about the failed run.

    The Inngest SDK answers Inngest with HTTP 500 when a function fails, as its protocol
    requires; ``serve_inngest()`` has already logged the failure by name just before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        details = record.args
        if (
            record.levelno >= logging.ERROR
            and isinstance(details, dict)
            and details.get("method") == "POST"
            and details.get("status") == 500
            and str(details.get("path", "")).startswith("/api/inngest?fnId=")
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = (
                "HTTP %(method)s %(path)s %(status)s [%(time_taken).2f, %(client)s] "
                "(the failed run above, reported to Inngest)"
            )
        return True

"""A separate process that decides one confirmation: ``python -m tests.confirmations.decide_worker
TOKEN USERNAME GO_FILE``. Prints the outcome as JSON. Used by the multi-process race test."""

from __future__ import annotations

import json
import os
import sys
import time


def main(token: str, username: str, go_file: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "INNGEST_CLIENT": "tests.confirmations.inngest_app.reply_client",
    }
    from django.contrib.auth import get_user_model
    from django.db import connection

    from django_inngest_realtime.confirmations import AlreadyDecided, decide
    from tests.confirmations import inngest_app  # noqa: F401  (registers the channel)

    user = get_user_model().objects.get(username=username)
    connection.ensure_connection()
    while not os.path.exists(go_file):
        time.sleep(0.001)
    try:
        decision = decide(token, approved=True, user=user)
        result = {"won": True, "by": decision.decided_by}
    except AlreadyDecided as exc:
        result = {"won": False, "by": exc.decided_by, "error": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])

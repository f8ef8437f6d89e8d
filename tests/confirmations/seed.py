"""A separate process that writes rows into a test server's database (a SQLite file in the
embedded configuration): ``python -m tests.confirmations.seed SPEC_JSON``. Creates the
staff user ``SPEC["user"]`` (password "pw", may decide) and the confirmations listed, then
prints each one's published payload, as JSON."""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any


def main(spec: dict[str, Any]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from django_inngest_realtime.confirmations.state import payload
    from django_inngest_realtime.models import Confirmation

    users = get_user_model()._default_manager
    user = users.filter(username=spec["user"]).first()
    if user is None:
        user = users.create_user(spec["user"], password="pw", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="decide_confirmation"))
    made = [
        Confirmation.objects.create(
            message=fields.pop("message", "Confirm to proceed?"),
            event_name="inngest-realtime/confirmation.decided",
            topic="messages",
            expires_at=timezone.now() + datetime.timedelta(hours=1),
            **fields,
        )
        for fields in spec["confirmations"]
    ]
    print(json.dumps([payload(c) for c in made]), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

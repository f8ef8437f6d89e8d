"""What a memoized publish keeps in the run's state (the double records every step's data):
only the message's ``id`` and ``seq``, as little as Inngest's own publish step keeps."""

from __future__ import annotations

from django_inngest_realtime.testing.inngest_server import InngestServerDouble

TIMEOUT = 60.0


def test_the_publish_step_stores_only_id_and_seq(synced: InngestServerDouble) -> None:
    synced.send_event("double/publish", {"id": "lean"})
    run = synced.wait_for_run(lambda r: r.function_id == "double-app-publisher", TIMEOUT)
    assert run.status == "Completed", run.error
    (step,) = [s for s in run.steps if s.display_name == "publish:double:lean"]
    assert set(step.data) == {"id", "seq"}
    assert isinstance(step.data["seq"], int)
    assert run.output == step.data["id"]  # the function's replay rebuilt the same message

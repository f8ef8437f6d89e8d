"""An in-process Inngest server double for tests: app sync, the event API, function runs
(steps, sleeps, waits for events, retries, invokes), request signing and the realtime
publish endpoint. See ``docs/testing-inngest-double.md``.
"""

from __future__ import annotations

from django_inngest_realtime.testing.inngest_server.expressions import (
    Expression,
    ExpressionError,
    compile_expression,
)
from django_inngest_realtime.testing.inngest_server.models import (
    CallRecord,
    FunctionDef,
    PublishedMessage,
    RegistrationError,
    Run,
    StepRecord,
)
from django_inngest_realtime.testing.inngest_server.server import InngestServerDouble, SyncError

__all__ = [
    "CallRecord",
    "Expression",
    "ExpressionError",
    "FunctionDef",
    "InngestServerDouble",
    "PublishedMessage",
    "RegistrationError",
    "Run",
    "StepRecord",
    "SyncError",
    "compile_expression",
]

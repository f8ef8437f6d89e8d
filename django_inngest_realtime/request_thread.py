"""The thread Django's ASGI handler keeps for a request while its response streams.

Django runs each request in asgiref's ``ThreadSensitiveContext``: the request's first
thread-sensitive ``sync_to_async`` call (a ``request_started`` receiver, loading the
session) starts a one-thread executor, which lives until the request ends. For a
Server-Sent Events response that is the stream's whole life: an idle OS thread, its
stack and its Python state, per open stream (about 23 KB of resident memory each,
``docs/performance.md``), and any database connection the request opened in it.

Once a stream has begun, the request's sync work is done. :func:`release` closes the
database connections that thread opened and lets the thread end; a later
thread-sensitive call in the same request (Django's ``request_finished`` when the
stream ends) starts a fresh executor, as the first call did.

The one module that reads asgiref's executor map (``SyncToAsync.thread_sensitive_context``,
``SyncToAsync.context_to_thread_executor``, not documented), behind a feature check: when
either is missing, nothing is released and the stream keeps its thread. Tested with the
asgiref versions bounded in ``pyproject.toml``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync

logger = logging.getLogger("django_inngest_realtime")

_warned = False


def _executors() -> tuple[Any, Any] | None:
    """asgiref's per-context executor map and the context variable naming the current
    context, or None (with a warning, once) when this asgiref has neither."""
    global _warned
    current = getattr(SyncToAsync, "thread_sensitive_context", None)
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    if current is None or executors is None or not hasattr(executors, "pop"):
        if not _warned:
            _warned = True
            logger.warning(
                "This asgiref keeps its per-request executors elsewhere: SSE streams keep "
                "their request's thread while they are open."
            )
        return None
    return current, executors


def _close_connections() -> bool:
    """In the request's thread: close the database connections it opened; False (and
    nothing closed) when one is inside a transaction, which the thread must keep."""
    from django.db import connections

    opened = connections.all(initialized_only=True)
    if any(connection.in_atomic_block for connection in opened):
        return False
    for connection in opened:
        connection.close()
    return True


async def release() -> bool:
    """End the thread the current request's thread-sensitive calls ran in, if it has one
    and nothing in it is inside a transaction; True when it was released."""
    found = _executors()
    if found is None:
        return False
    current, executors = found
    context = current.get(None)
    if context is None or getattr(context, "_executor", None) is not None:
        return False  # no request context, or an executor its owner passed in (asgiref 3.11+)
    executor: Executor | None = executors.get(context)
    if not isinstance(executor, ThreadPoolExecutor):
        return False  # no sync call ran in this request yet: there is no thread
    loop = asyncio.get_running_loop()
    try:
        if not await loop.run_in_executor(executor, _close_connections):
            return False
    except Exception:  # a broken connection: the stream goes on, with its thread
        logger.warning("Could not close a streaming request's connections.", exc_info=True)
        return False
    if executors.get(context) is executor:
        executors.pop(context, None)
    executor.shutdown(wait=False)  # its thread ends once idle, which it is
    return True

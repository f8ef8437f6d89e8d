"""Inngest's size limits on what a run returns and keeps, with the errors Inngest gives.

From Inngest's usage limits (docs, "Usage Limits") and server constants
(``inngest/inngest`` ``pkg/consts/consts.go``):

- "The limit for data returned by a step is 4MB" (``MaxStepOutputSize = 1024 * 1024 * 4``);
  a larger step output is refused with "step output size is greater than the limit"
  (``ErrStepOutputTooLarge`` in ``pkg/execution/state``).
- "Function run state cannot exceed 32MB. Its state includes: event data, step-returned
  data, ..." (``DefaultMaxStateSizeLimit``); past it the run fails with
  ``InngestErrStateOverflowed``, "The function run exceeded the state size limit of N bytes."
- The executor reads at most ``MaxSDKResponseBodySize = MaxStepOutputSize +
  MaxStepInputSize`` (8 MiB) of a reply; a larger reply fails the attempt with the system
  code ``output_too_large``.
- A call request carries the memoized steps only while the run's state is under
  ``MaxSDKRequestBodySize`` (4 MiB) less 1 KiB; past that it says ``use_api`` and the SDK
  fetches them from the API.
"""

from __future__ import annotations

import json
from typing import Any

MIB = 1024 * 1024
MAX_STEP_OUTPUT_BYTES = 4 * MIB
MAX_STATE_BYTES = 32 * MIB
MAX_RESPONSE_BYTES = MAX_STEP_OUTPUT_BYTES + 4 * MIB
MAX_REQUEST_BYTES = 4 * MIB


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON, the form Inngest stores."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode())


def oversized_step(ops: list[dict[str, Any]], limit: int) -> dict[str, Any] | None:
    """The error for the first step whose output, stored as ``{"data": ...}``, passes ``limit``."""
    for op in ops:
        if op.get("op") == "StepRun" and json_size({"data": op.get("data")}) > limit:
            return {"name": "Error", "message": "step output size is greater than the limit"}
    return None


def response_too_large(status: int, limit: int) -> dict[str, Any]:
    return {
        "name": "output_too_large",
        "message": f"the app's HTTP {status} reply is larger than {limit} bytes",
    }


class StateMeter:
    """The size of a run's state: its event, then every memoized step result."""

    def __init__(self, event: Any) -> None:
        self.size = json_size(event)

    def add(self, value: Any, limit: int) -> dict[str, Any] | None:
        """Count ``value`` in; the overflow error instead when it would pass ``limit``."""
        size = json_size(value)
        if self.size + size > limit:
            message = f"The function run exceeded the state size limit of {limit} bytes."
            return {
                "error": f"InngestErrStateOverflowed: {message}",
                "name": "InngestErrStateOverflowed",
                "message": message,
            }
        self.size += size
        return None

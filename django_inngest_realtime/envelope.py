"""The message envelope on the wire, in Inngest Realtime's field names, and its encodings."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any, Literal

import pydantic

#: ``run``: a run's lifecycle (started, completed, failed, cancelled: ``run_status.py``).
Kind = Literal["data", "datastream-start", "chunk", "datastream-end", "run"]


class Message(pydantic.BaseModel):
    """One published message.

    ``kind``, ``channel``, ``topic``, ``data``, ``run_id``, ``fn_id``, ``created_at`` and
    ``stream_id`` are Inngest Realtime's wire fields; ``id`` and ``seq`` are ours.
    Absent optional fields are omitted from the JSON, never sent as ``null``: Inngest's
    JavaScript client drops frames with ``null`` in them.
    """

    model_config = pydantic.ConfigDict(frozen=True)

    id: str = pydantic.Field(default_factory=lambda: uuid.uuid4().hex)
    #: Position in the channel's sequence (1, 2, 3 ...); ``None`` until published.
    seq: int | None = None
    kind: Kind = "data"
    channel: str
    topic: str
    data: Any = None
    run_id: str | None = None
    fn_id: str | None = None
    stream_id: str | None = None
    created_at: datetime.datetime = pydantic.Field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    @pydantic.field_serializer("created_at")
    def _iso(self, value: datetime.datetime) -> str:
        return value.isoformat().replace("+00:00", "Z")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible dict sent on the wire."""
        out = self.model_dump(mode="json", exclude_none=True)
        # ``data`` may legitimately be null; only the optional metadata is dropped.
        out.setdefault("data", None)
        return out

    def to_json(self) -> str:
        """Encode as one compact JSON text (a WebSocket frame)."""
        if self.data is None:  # kept as ``"data":null``, which ``exclude_none`` would drop
            return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)
        return self.model_dump_json(exclude_none=True)

    def to_sse(self) -> str:
        """Encode as one Server-Sent Events event, its ``id`` the channel position."""
        return sse_event(self.to_json(), event_id=None if self.seq is None else str(self.seq))

    @classmethod
    def from_json(cls, text: str | bytes) -> Message:
        """Decode a JSON frame made by :meth:`to_json`."""
        return cls.model_validate_json(text)


def sse_event(data: str, *, event_id: str | None = None, event: str | None = None) -> str:
    """Format one SSE event; ``data`` may span lines."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str = "ping") -> str:
    """An SSE comment line: keeps idle connections and proxies alive."""
    return f": {text}\n\n"

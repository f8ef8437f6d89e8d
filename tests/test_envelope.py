from __future__ import annotations

import datetime
import json

from django_inngest_realtime.envelope import Message, sse_event


def test_json_omits_absent_fields_and_keeps_null_data() -> None:
    m = Message(
        channel="c",
        topic="t",
        data=None,
        created_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    )
    out = json.loads(m.to_json())
    assert out == {
        "id": m.id,
        "kind": "data",
        "channel": "c",
        "topic": "t",
        "data": None,
        "created_at": "2026-01-02T03:04:05Z",
    }
    assert "null" not in m.to_json().replace('"data":null', "")


def test_json_round_trip_with_run_fields() -> None:
    m = Message(seq=3, channel="c", topic="t", data={"x": [1, "é"]}, run_id="r", fn_id="f")
    again = Message.from_json(m.to_json())
    assert again == m
    assert '"é"' in m.to_json()


def test_sse_encoding() -> None:
    m = Message(seq=12, channel="c", topic="t", data="line1\nline2")
    text = m.to_sse()
    assert text.startswith("id: 12\ndata: {")
    assert text.endswith("}\n\n")
    assert text.count("\n") == 3  # the JSON escapes the data's newline
    assert sse_event("a\nb", event="gap") == "event: gap\ndata: a\ndata: b\n\n"

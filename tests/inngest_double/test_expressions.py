"""Expressions in ``if`` (``wait_for_event``), trigger ``expression``s and their values,
evaluated as Inngest's server evaluates them.

The reference is ``inngest/inngest``'s ``pkg/expressions`` package: ``expressions.go``
("Attributes that are present within the expression but missing from the data should be
treated as null values; the expression must not error"), ``unknown.go`` (unknowns, nulls,
truthy ``&&`` / ``||``) and its tests in ``unknown_test.go``, whose cases are reused below
with their names.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from django_inngest_realtime.testing.inngest_server import (
    ExpressionError,
    InngestServerDouble,
    compile_expression,
)

TIMEOUT = 60.0


def value(source: str, data: dict[str, Any]) -> Any:
    return compile_expression(source, ("event",)).value({"event": {"data": data}})


def matches(source: str, event: dict[str, Any], async_: dict[str, Any]) -> bool:
    return compile_expression(source).evaluate({"event": event, "async": async_})


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ('event.data.missing == "foo"', {}, False),
        ("event.data.missing == null", {}, True),
        ("event.data.missing == 0", {}, False),
        ("event.data.a == event.data.b", {}, False),
        ('event.data.missing != "foo"', {}, True),
        ("event.data.missing != null", {}, False),
        ("event.data.missing != 0", {}, True),
        ('event.data.missing != ""', {}, True),
        ("event.data.missing < 5", {}, True),
        ("event.data.missing <= 5", {}, True),
        ("5 < event.data.missing", {}, False),
        ("5 <= event.data.missing", {}, False),
        ("event.data.n > event.data.missing", {"n": 2}, True),
        ("event.data.missing > 5", {}, False),
        ("event.data.missing >= 5", {}, False),
        ("5 > event.data.missing", {}, True),
        ("5 >= event.data.missing", {}, True),
    ],
)
def test_a_missing_field_is_unknown_and_compares_as_inngest_does(
    source: str, data: dict[str, Any], expected: bool
) -> None:
    """Inngest, ``unknown.go`` ``handleUnknownCall``: "we want to treat unknowns as nulls":
    ``==`` "Comparing an unknown to null is true, else return false"; ``!=`` "Unknowns are
    null, so this is false" against null, true otherwise; ``<``/``<=`` "Unknown is less than
    anything" (true only when the unknown is the left operand); ``>``/``>=`` "If the first
    arg is unknown, return false". Cases: ``TestHandleUnknownCall`` in ``unknown_test.go``.
    """
    assert value(source, data) is expected


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ('null == "foo"', {}, False),
        ('"foo" == null', {}, False),
        ('null != "foo"', {}, True),
        ('"foo" != null', {}, True),
        ('null < "foo"', {}, True),
        ('"foo" < null', {}, False),
        ("null < 5", {}, True),
        ("5 < null", {}, False),
        ("null > 0", {}, False),
        ("5 > null", {}, True),
        ("null <= 0", {}, True),
        ("null >= 1", {}, False),
        ("null < 0.5", {}, True),
        ("event.data.float > null", {"float": 3.141}, True),
        ("event.data.n > null", {"n": 8}, True),
        ("event.data.float <= null", {"float": 3.141}, False),
    ],
)
def test_null_in_an_ordering_is_the_other_sides_zero_value(
    source: str, data: dict[str, Any], expected: bool
) -> None:
    """Inngest, ``unknown.go``: with a null operand, ``==`` is false and ``!=`` true; "Other
    operators, such as >, <=, depend on the argument order ... We must create a new zero
    type in place of the null argument" (``zeroVal``: 0, 0.0 or ""). Cases:
    ``TestNullTypeHandling`` in ``unknown_test.go``."""
    assert value(source, data) is expected


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("event.data.a || event.data.b", {"a": "first", "b": "second"}, "first"),
        ("event.data.a || event.data.b", {"a": "", "b": "second"}, "second"),
        ("event.data.missing || event.data.b", {"b": "found"}, "found"),
        ("event.data.a || event.data.missing", {"a": "found"}, "found"),
        ("event.data.a || event.data.b", {}, False),
        ("event.data.zero || event.data.name", {"zero": 0, "name": "hi"}, "hi"),
        ("null || event.data.b", {"b": "fallback"}, "fallback"),
        ("event.data.f || false", {"f": 3.14}, 3.14),
        ("event.data.f || event.data.b", {"f": 0.0, "b": "yes"}, "yes"),
        ("false || event.data.list", {"list": ["a"]}, ["a"]),
        ("event.data.flagA || event.data.flagB", {"flagA": False, "flagB": True}, True),
        ("event.data.flagA || event.data.flagB", {"flagA": False, "flagB": False}, False),
        ("event.data.a && event.data.b", {"a": "first", "b": "second"}, "second"),
        ("event.data.a && event.data.b", {"a": "", "b": "second"}, ""),
        ("event.data.a && event.data.b", {"a": "first", "b": ""}, ""),
        ("event.data.missing && event.data.b", {"b": "second"}, False),
        ("event.data.flagA && event.data.flagB", {"flagA": True, "flagB": False}, False),
        ("event.data.flagA && event.data.flagB", {"flagA": True, "flagB": True}, True),
    ],
)
def test_and_or_on_non_booleans_use_truthy_coercion(
    source: str, data: dict[str, Any], expected: Any
) -> None:
    """Inngest, ``unknown.go`` ``evalTruthyLogical``: "users commonly write
    ``event.data.a || event.data.b`` expecting JS-like truthy coercion"; OR returns "the
    first truthy value, or the last value", AND "the first falsy value, or the last value";
    "Falsy values: unknown, error, null, false, empty string, 0". Cases:
    ``TestTruthyLogicalCoercion`` in ``unknown_test.go``."""
    assert value(source, data) == expected
    assert type(value(source, data)) is type(expected)


def test_n_ary_or_inside_and() -> None:
    """Inngest, ``unknown_test.go`` ``TestEvalTruthyLogical_NaryOR``: ``name == "alice" &&
    role == "admin" && plan == "pro" && (a || b || c)`` is not false when one feature is set,
    and false when the user differs or no feature is set."""
    source = (
        'event.data.user.name == "alice" && event.data.user.role == "admin" && '
        'event.data.user.plan == "pro" && '
        "(event.data.features.a || event.data.features.b || event.data.features.c)"
    )

    def run(name: str, features: dict[str, str]) -> Any:
        user = {"name": name, "role": "admin", "plan": "pro"}
        return value(source, {"user": user, "features": features})

    assert run("alice", {"c": "on"}) is not False
    assert run("alice", {"a": "on"}) is not False
    assert run("bob", {"a": "on", "b": "on", "c": "on"}) is False
    assert run("alice", {}) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('async.data.kind == "approval"', True),
        ("async.data.kind == 'approval'", True),
        ('async.data.kind != "approval"', False),
        ("event.data.id == async.data.id", True),
        ('event.data.id == async.data.id && async.data.kind == "approval"', True),
        ('event.data.id == async.data.id && async.data.kind == "other"', False),
        ('async.data.kind == "other" || async.data.n >= 3', True),
        ("!(async.data.n < 3)", True),
        ('async.data["kind"] == "approval" && async.data.list[1] == 2', True),
        ("async.data.ok == true && async.data.none == null", True),
        ("async.data.missing == null", True),
        ("async.data.missing != 1", True),
        ("async.data.list[5] == null", True),
        ("async.data.n == 3.0", True),
        ("async.data.ok == 1", False),
        ("!async.data.ok == false", True),
        ("!async.data.missing", False),
    ],
)
def test_wait_conditions(source: str, expected: bool) -> None:
    """Inngest: ``event`` is the run's trigger and ``async`` the incoming event (docs,
    "Writing expressions"). Equality is CEL's heterogeneous equality ("basic type coercion
    allowing eg. int <> float comparisons", ``expressions.go``; other types never equal);
    ``!`` binds tighter than ``==`` (CEL grammar) and is false on an unknown
    (``handleUnknownCall``'s default)."""
    event = {"name": "a", "data": {"id": "r1"}}
    async_ = {
        "name": "b",
        "data": {"id": "r1", "kind": "approval", "n": 3, "ok": True, "none": None, "list": [1, 2]},
    }
    assert matches(source, event, async_) is expected


def test_a_condition_that_is_not_a_boolean_or_errors_raises_when_evaluated() -> None:
    """Inngest: a trigger's ``EvaluateBoolean`` fails with "expression errored ... returned
    type" for a non-boolean (the trigger is skipped), a pause keeps waiting
    (``result, _ := val.(bool); if !result``), and an error value (``1 < "x"``: no such
    overload) is "error evaluating pause expression". The double raises, its callers do not
    match and record why in ``errors``."""
    with pytest.raises(ExpressionError, match="not a boolean"):
        compile_expression('async.data.n || "x"', ("async",)).evaluate({"async": {"data": {}}})
    expression = compile_expression('async.data.n < "x"')
    with pytest.raises(ExpressionError, match="cannot compare"):
        expression.evaluate({"async": {"data": {"n": 1}}})
    assert expression.evaluate({"async": {"data": {}}}) is True  # unknown < anything


@pytest.mark.parametrize(
    "source",
    [
        "size(async.data.items) > 2",
        "async.data.items.size() > 2",
        'async.data.name.startsWith("a")',
        "async.data.n + 1 == 2",
        '"a" in async.data.tags',
        "user.id == 1",
        "async.data.kind = 'x'",
        "",
    ],
)
def test_unsupported_expressions_raise_naming_them(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert repr(source) in str(info.value)


# -- through the SDK: step.wait_for_event's if_exp ------------------------------------------


def fn(name: str) -> str:
    return f"double-app-{name}"


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def waiting_run(server: InngestServerDouble, condition: str) -> tuple[str, str]:
    request_id = uuid.uuid4().hex
    server.send_event("double/wait-if", {"request_id": request_id, "if": condition})
    run = server.wait_for_run(
        lambda r: (
            r.function_id == fn("wait-if")
            and r.event["data"]["request_id"] == request_id
            and r.waiting_for is not None
        ),
        TIMEOUT,
        finished=False,
    )
    return run.run_id, request_id


MATCH_ID = "async.data.request_id == event.data.request_id"


@pytest.mark.parametrize(
    ("condition", "refused", "accepted"),
    [
        (f"{MATCH_ID} && async.data.rejected == null", {"rejected": True}, {"note": "ok"}),
        (f'{MATCH_ID} && async.data.status != "rejected"', {"status": "rejected"}, {}),
    ],
)
def test_wait_for_event_with_a_missing_field(
    synced: InngestServerDouble,
    condition: str,
    refused: dict[str, Any],
    accepted: dict[str, Any],
) -> None:
    """Inngest: "Attributes that are present within the expression but missing from the
    data should be treated as null values; the expression must not error"
    (``pkg/expressions/expressions.go``): ``async.data.rejected == null`` and
    ``async.data.status != "rejected"`` hold for a reply without that field."""
    synced.configure(max_sleep=10.0)  # never an hour, whatever happens
    run_id, request_id = waiting_run(synced, condition)
    synced.send_event("double/wait-if.reply", {"request_id": request_id, **refused})
    synced.send_event("double/wait-if.reply", {"request_id": request_id, **accepted})
    run = synced.wait_for_run(run_id, TIMEOUT)
    assert run.status == "Completed", run.error
    assert run.output == {"reply": {"request_id": request_id, **accepted}}


def test_wait_for_event_whose_condition_is_not_a_boolean_keeps_waiting(
    synced: InngestServerDouble,
) -> None:
    """Inngest's executor, on each event a pause could take: ``val, _, err :=
    expr.Evaluate(ctx, data); if err != nil { l.Warn("error evaluating pause expression")
    ...; return }; result, _ := val.(bool); if !result { return }``: the run is not failed,
    the pause just does not match. ``x && "hi"`` is ``"hi"`` (truthy coercion), no boolean."""
    run_id, request_id = waiting_run(synced, f"{MATCH_ID} && async.data.note")
    synced.send_event("double/wait-if.reply", {"request_id": request_id, "note": "hi"})
    until(
        lambda: any(run_id in e and "not a boolean" in e for e in synced.errors),
        "the non-boolean result recorded in errors",
    )
    assert synced.get_run(run_id).status == "Running"
    synced.send_event("double/wait-if.reply", {"request_id": request_id, "note": True})
    run = synced.wait_for_run(run_id, TIMEOUT)
    assert run.status == "Completed", run.error
    assert run.output == {"reply": {"request_id": request_id, "note": True}}

"""How Inngest's server evaluates expression values (``inngest/inngest``,
``pkg/expressions``: ``unknown.go``, ``exprenv/overloads.go``, ``cel.go``).

Inngest runs CEL with two changes that users rely on:

- "Attributes that are present within the expression but missing from the data should be
  treated as null values; the expression must not error" (``expressions.go``). A missing
  field is CEL's *unknown*; an operator given one answers as ``handleUnknownCall`` does:
  ``x == null`` is true, ``x == <anything else>`` false, ``!=`` the opposite, ``x < y``
  true only when the unknown is on the left, ``x > y`` true only when it is on the right,
  and any other function (``!`` included) false. Error values (``no such overload``) count
  as unknowns there.
- ``&&`` and ``||`` on operands that are not all booleans use "JS-like truthy coercion":
  ``||`` gives the first truthy operand or the last one, ``&&`` the first falsy operand or
  the last one. Falsy: unknown, error, null, false, ``""``, ``0``.

Equality is CEL's heterogeneous equality (values of different types are unequal, integers
and floats compare by value). An ordering between ``null`` and a number or string compares
that type's zero value; any other ordering across types is an error value.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from typing import Any

_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Unknown:
    """A field the data does not have (CEL's unknown value)."""

    def __repr__(self) -> str:
        return "<missing>"


UNKNOWN: Any = _Unknown()


@dataclasses.dataclass(frozen=True)
class Error:
    """A CEL error value, such as ``no such overload`` for ``1 < "a"``."""

    reason: str


def absent(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, Error)


def lookup(value: Any, keys: list[str | int]) -> Any:
    for key in keys:
        if isinstance(key, int) and isinstance(value, list) and 0 <= key < len(value):
            value = value[key]
        elif isinstance(key, str) and isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            return UNKNOWN
    return value


def truthy(value: Any) -> bool:
    """``isTruthy`` in ``unknown.go``: lists and maps are truthy, even empty ones."""
    if absent(value) or value is None:
        return False
    if isinstance(value, bool | str | int | float):
        return bool(value)
    return True


def logical(op: str, left: Any, right: Any) -> Any:
    """``&&`` / ``||`` as ``evalTruthyLogical`` computes them (on booleans, plain CEL)."""
    if op == "||":
        return left if truthy(left) else right
    return right if truthy(left) else left


def negate(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if absent(value):
        return False  # handleUnknownCall's default: "return false"
    return Error(f"no such overload: !{value!r}")


def compare(op: str, left: Any, right: Any) -> Any:
    """``==  !=  <  <=  >  >=`` with Inngest's rules for unknowns and nulls."""
    if absent(left) or absent(right):
        null = left is None or right is None
        if op == "==":
            return null  # "Comparing an unknown to null is true, else return false."
        if op == "!=":
            return not null
        left_unknown = absent(left)
        return left_unknown if op in ("<", "<=") else not left_unknown
    if op in ("==", "!="):
        same = equal(left, right)
        return same if op == "==" else not same
    if (left is None) != (right is None):
        zero = _zero(right if left is None else left)
        if zero is None:
            return Error(f"no such overload: {left!r} {op} {right!r}")
        left, right = (zero, right) if left is None else (left, zero)
    if _comparable(left, right):
        return bool(_ORDER[op](left, right))
    return Error(f"cannot compare {left!r} {op} {right!r}")


def equal(left: Any, right: Any) -> bool:
    if _number(left) and _number(right):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


def _zero(value: Any) -> Any:
    """``zeroVal``: the value ``null`` stands for in an ordering against ``value``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return type(value)()
    return None


def _comparable(left: Any, right: Any) -> bool:
    if _number(left) and _number(right):
        return True
    return type(left) is type(right) and isinstance(left, str | bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

"""The subset of CEL (Common Expression Language) that Inngest users write in
``if`` expressions and trigger expressions.

Supported: paths on the given variables (``event.data.user.id``, ``async.data["key"]``,
``event.data.items[0]``), string / number / ``true`` / ``false`` / ``null`` literals,
``==  !=  <  <=  >  >=``, ``&&``, ``||``, ``!`` and parentheses. Anything else (function
calls such as ``size()``, ``in``, arithmetic, macros) raises :class:`ExpressionError`
naming the expression, never a silent match or mismatch.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>!().\[\]])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_MISSING: Any = object()
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class ExpressionError(ValueError):
    """An expression the double does not support, or one that failed to evaluate."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Unsupported or invalid expression {expression!r}: {reason}")
        self.expression = expression
        self.reason = reason


Node = Callable[[Mapping[str, Any]], Any]


@dataclasses.dataclass(frozen=True)
class Expression:
    """A compiled expression; ``matches(event=..., async_=...)`` evaluates it."""

    source: str
    _node: Node

    def evaluate(self, variables: Mapping[str, Any]) -> bool:
        value = self._node(variables)
        if not isinstance(value, bool):
            if value is _MISSING:
                return False
            raise ExpressionError(self.source, f"evaluates to {value!r}, not a boolean")
        return value


def compile_expression(source: str, variables: tuple[str, ...] = ("event", "async")) -> Expression:
    """Parse ``source``; raise :class:`ExpressionError` for anything outside the subset."""
    return Expression(source, _Parser(source, variables).parse())


class _Parser:
    def __init__(self, source: str, variables: tuple[str, ...]) -> None:
        self.source = source
        self.variables = variables
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(source):
            kind = match.lastgroup or "bad"
            text = match.group(kind) if match.lastgroup else ""
            if kind == "bad":
                self.fail(f"unexpected character {text!r}")
            if text:
                self.tokens.append((kind, text))
        self.pos = 0

    def fail(self, reason: str) -> NoReturn:
        raise ExpressionError(self.source, reason)

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (text is not None and token[1] != text):
            self.fail(f"expected {text or 'more'}, found {token[1] or 'end of expression'!r}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            self.fail("empty expression")
        node = self.parse_or()
        if self.peek()[0] != "end":
            self.fail(f"unsupported syntax at {self.peek()[1]!r}")
        return node

    def parse_or(self) -> Node:
        left = self.parse_and()
        while self.peek()[1] == "||":
            self.take()
            left = _or(left, self.parse_and())
        return left

    def parse_and(self) -> Node:
        left = self.parse_unary()
        while self.peek()[1] == "&&":
            self.take()
            left = _and(left, self.parse_unary())
        return left

    def parse_unary(self) -> Node:
        if self.peek()[1] == "!":
            self.take()
            inner = self.parse_unary()
            return lambda v: (not r) if isinstance(r := inner(v), bool) else False
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_primary()
        op = self.peek()[1]
        if op in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.parse_primary()
            return _compare(self.source, op, left, right)
        return left

    def parse_primary(self) -> Node:
        kind, text = self.take()
        if text == "(":
            node = self.parse_or()
            self.take(")")
            return node
        if kind == "string":
            value = _string(self.source, text)
            return lambda v: value
        if kind == "number":
            number: float | int = float(text) if any(c in text for c in ".eE") else int(text)
            return lambda v: number
        if kind == "ident":
            if text in ("true", "false", "null"):
                literal = {"true": True, "false": False, "null": None}[text]
                return lambda v: literal
            if text not in self.variables:
                self.fail(f"unknown name {text!r} (available: {', '.join(self.variables)})")
            return self.parse_path(text)
        self.fail(f"unsupported syntax at {text!r}")

    def parse_path(self, root: str) -> Node:
        keys: list[str | int] = []
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "ident":
                    self.fail(f"expected a field name after '.', found {name!r}")
                if self.peek()[1] == "(":
                    self.fail(f"function calls such as {name}() are not supported")
                keys.append(name)
            else:
                kind, text = self.take()
                if kind == "string":
                    keys.append(_string(self.source, text))
                elif kind == "number" and text.isdigit():
                    keys.append(int(text))
                else:
                    self.fail(f"unsupported index {text!r}")
                self.take("]")
        if self.peek()[1] == "(":
            self.fail("function calls are not supported")
        return lambda v: _lookup(v.get(root, _MISSING), keys)


def _string(source: str, token: str) -> str:
    body = token[1:-1]
    if token[0] == "'":
        body = body.replace('\\"', '"').replace("\\'", "'").replace('"', '\\"')
    try:
        return str(json.loads(f'"{body}"'))
    except ValueError:
        raise ExpressionError(source, f"bad string literal {token}") from None


def _lookup(value: Any, keys: list[str | int]) -> Any:
    for key in keys:
        if isinstance(key, int) and isinstance(value, list) and 0 <= key < len(value):
            value = value[key]
        elif isinstance(key, str) and isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            return _MISSING
    return value


def _and(left: Node, right: Node) -> Node:
    return lambda v: left(v) is True and right(v) is True


def _or(left: Node, right: Node) -> Node:
    return lambda v: left(v) is True or right(v) is True


def _compare(source: str, op: str, left: Node, right: Node) -> Node:
    def evaluate(v: Mapping[str, Any]) -> bool:
        a, b = left(v), right(v)
        if a is _MISSING or b is _MISSING:
            return False  # CEL: no such key is an error, and an error never matches
        if op in ("==", "!="):
            same = type(a) is type(b) or (_is_number(a) and _is_number(b))
            equal = same and a == b
            return equal if op == "==" else not equal
        if not ((_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str)):
            raise ExpressionError(source, f"cannot compare {a!r} {op} {b!r}")
        return bool(_ORDER[op](a, b))

    return evaluate


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

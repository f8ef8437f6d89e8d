"""The subset of CEL (Common Expression Language) that Inngest users write in
``if`` expressions and trigger expressions, evaluated as Inngest's server does
(see :mod:`.cel`: a missing field is null, ``&&`` / ``||`` coerce non-booleans).

Supported: paths on the given variables (``event.data.user.id``, ``async.data["key"]``,
``event.data.items[0]``), string / number / ``true`` / ``false`` / ``null`` literals,
``==  !=  <  <=  >  >=``, ``&&``, ``||``, ``!`` and parentheses. Anything else (function
calls such as ``size()``, ``in``, arithmetic, macros) raises :class:`ExpressionError`
when compiled, naming the expression, never a silent match or mismatch.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from django_inngest_realtime.testing.inngest_server import cel

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
_RELATIONS = ("==", "!=", "<", "<=", ">", ">=")


class ExpressionError(ValueError):
    """An expression the double does not support, or one that failed to evaluate."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Unsupported or invalid expression {expression!r}: {reason}")
        self.expression = expression
        self.reason = reason


Node = Callable[[Mapping[str, Any]], Any]


@dataclasses.dataclass(frozen=True)
class Expression:
    """A compiled expression: :meth:`evaluate` for conditions, :meth:`value` for its value."""

    source: str
    _node: Node

    def value(self, variables: Mapping[str, Any]) -> Any:
        """The expression's value, as Inngest's ``expressions.Evaluate`` returns it: an
        unknown (missing) result is ``False``; an error value raises :class:`ExpressionError`."""
        result = self._node(variables)
        if result is cel.UNKNOWN:
            return False
        if isinstance(result, cel.Error):
            raise ExpressionError(self.source, result.reason)
        return result

    def evaluate(self, variables: Mapping[str, Any]) -> bool:
        """Whether the condition holds; a result that is not a boolean raises
        :class:`ExpressionError` (Inngest then does not match, and logs why)."""
        result = self.value(variables)
        if not isinstance(result, bool):
            raise ExpressionError(self.source, f"evaluates to {result!r}, not a boolean")
        return result


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
            left = _logical("||", left, self.parse_and())
        return left

    def parse_and(self) -> Node:
        left = self.parse_relation()
        while self.peek()[1] == "&&":
            self.take()
            left = _logical("&&", left, self.parse_relation())
        return left

    def parse_relation(self) -> Node:
        left = self.parse_unary()
        while (op := self.peek()[1]) in _RELATIONS:
            self.take()
            left = _compare(op, left, self.parse_unary())
        return left

    def parse_unary(self) -> Node:
        """``!`` binds tighter than the relations, as in CEL: ``!a == b`` is ``(!a) == b``."""
        if self.peek()[1] == "!":
            self.take()
            inner = self.parse_unary()
            return lambda v: cel.negate(inner(v))
        return self.parse_primary()

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
        return lambda v: cel.lookup(v.get(root, cel.UNKNOWN), keys)


def _string(source: str, token: str) -> str:
    body = token[1:-1]
    if token[0] == "'":
        body = body.replace('\\"', '"').replace("\\'", "'").replace('"', '\\"')
    try:
        return str(json.loads(f'"{body}"'))
    except ValueError:
        raise ExpressionError(source, f"bad string literal {token}") from None


def _logical(op: str, left: Node, right: Node) -> Node:
    # Inngest evaluates exhaustively: both sides, then the truthy rule picks one.
    return lambda v: cel.logical(op, left(v), right(v))


def _compare(op: str, left: Node, right: Node) -> Node:
    return lambda v: cel.compare(op, left(v), right(v))

"""The check every live-HTML fragment passes: no inline script or style, so a page's
Content Security Policy holds when the fragment is applied.

A fragment with a ``<script>`` or ``<style>`` element, an event-handler attribute
(``onclick``...), a ``style`` attribute, an ``srcdoc`` attribute or a ``javascript:`` URL
is refused, never cleaned up: a fragment that needs one of them is a bug in its template.
So are ``<base>``, ``<meta>`` and SVG animation elements (they can redirect the page or
set a script URL), and HTML comments and other ``<!...>`` / ``<?...>`` markup, which
browsers and Python's parser do not read alike (``{# #}`` comments render nothing).
``widgets.js`` makes the same check again in the browser before it applies a fragment.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements a fragment may not contain.
REFUSED_ELEMENTS = frozenset(
    {"script", "style", "base", "meta", "animate", "animatemotion", "animatetransform", "set"}
)
#: Attributes that hold a URL a browser may follow or load.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
)
# What browsers ignore before a URL's scheme: whitespace and control characters.
_URL_NOISE = re.compile(r"[\x00-\x20]+")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:")
_DECLARATION = re.compile(r"<[!?]")


class UnsafeFragment(ValueError):
    """A live-HTML fragment carries inline script or style; the message says which and where."""


def check_fragment(html: str, where: str) -> None:
    """Raise :class:`UnsafeFragment` (naming ``where``, e.g. the template) if ``html``
    carries inline script or style."""
    problem = _first_problem(html)
    if problem is not None:
        raise UnsafeFragment(
            f"{where} rendered {problem}. Live-HTML fragments carry no inline script or "
            "style (so the page's Content-Security-Policy holds): move behaviour to a "
            "static script and styling to a stylesheet, using classes and data- attributes."
        )


def element_ids(html: str) -> set[str]:
    """The ``id`` attributes of the fragment's elements."""
    return _checked(html).ids


def _first_problem(html: str) -> str | None:
    declaration = _DECLARATION.search(html)
    if declaration is not None:
        return f"markup that starts with {declaration.group(0)!r} (a comment or declaration)"
    return _checked(html).problem


def _checked(html: str) -> _Checker:
    parser = _Checker()
    parser.feed(html)
    parser.close()
    return parser


class _Checker(HTMLParser):
    """Finds the first element or attribute a fragment may not carry."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problem: str | None = None
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)
        if self.problem is not None:
            return
        if tag in REFUSED_ELEMENTS:
            self.problem = f"the element <{tag}>"
            return
        for name, value in attrs:
            if name.startswith("on"):
                self.problem = f"an event-handler attribute {name!r} on <{tag}>"
            elif name in ("style", "srcdoc"):
                self.problem = f"a {name!r} attribute on <{tag}>"
            elif name in URL_ATTRIBUTES and _URL_NOISE.sub("", value or "").lower().startswith(
                _SCRIPT_SCHEMES
            ):
                self.problem = f"a script URL in {name!r} on <{tag}>"
            if self.problem is not None:
                return

    handle_startendtag = handle_starttag

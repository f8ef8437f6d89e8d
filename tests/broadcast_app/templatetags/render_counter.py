"""``{% count_render "name" %}``: counts how many times a template rendered, in this process
(read by the test-only view ``/test-renders``)."""

from __future__ import annotations

import collections
import threading

from django import template

register = template.Library()

renders: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()


@register.simple_tag
def count_render(name: str) -> str:
    with _lock:
        renders[name] += 1
    return ""

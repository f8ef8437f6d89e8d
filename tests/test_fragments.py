"""The check every live-HTML fragment passes (``fragments.py``)."""

from __future__ import annotations

import pytest

from django_inngest_realtime.fragments import UnsafeFragment, check_fragment, element_ids

SAFE = [
    '<li id="note-1" class="note">Hello &lt;script&gt; &amp; bye</li>',
    "<tr><td>1</td><td>row</td></tr>",
    '<a href="/posts/1" data-id="1">post</a> <img src="/static/x.png" alt="">',
    "<p>Step one = done; online = yes</p>",
    '<form action="/vote" method="post"><button name="v" value="1">+1</button></form>',
    "",
]

UNSAFE = [
    ("<li><script>alert(1)</script></li>", "the element <script>"),
    ("<SCRIPT/src=x></SCRIPT>", "the element <script>"),
    ("<svg><script>alert(1)</script></svg>", "the element <script>"),
    ("<style>body{}</style>", "the element <style>"),
    ('<img src=x onerror="alert(1)">', "event-handler attribute 'onerror' on <img>"),
    ('<img src="x"onerror=alert(1)>', "event-handler attribute 'onerror'"),
    ("<img/onerror=alert(1)>", "event-handler attribute 'onerror'"),
    ('<div ONCLICK="x()">', "event-handler attribute 'onclick'"),
    ('<p style="color:red">', "a 'style' attribute on <p>"),
    ('<iframe srcdoc="&lt;script&gt;">', "a 'srcdoc' attribute"),
    ('<a href=" java\tscript:alert(1)">x</a>', "a script URL in 'href' on <a>"),
    ('<form action="JAVASCRIPT:x()">', "a script URL in 'action'"),
    ('<svg><animate attributeName="href" to="javascript:alert(1)"/></svg>', "<animate>"),
    ('<base href="https://evil.example/">', "the element <base>"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', "the element <meta>"),
    # Browsers end this comment at "<!-->", so the image is real: refuse every comment.
    ("<!--><img src=x onerror=alert(1)>-->", "starts with '<!'"),
    ("<?xml?><p>x</p>", "starts with '<?'"),
]


@pytest.mark.parametrize("html", SAFE)
def test_safe_fragments_pass(html: str) -> None:
    check_fragment(html, "Template 'x.html'")


@pytest.mark.parametrize(("html", "problem"), UNSAFE)
def test_inline_script_or_style_is_refused_naming_where(html: str, problem: str) -> None:
    with pytest.raises(UnsafeFragment) as caught:
        check_fragment(html, "Template 'posts/_post.html'")
    message = str(caught.value)
    assert message.startswith("Template 'posts/_post.html' rendered ")
    assert problem in message
    assert "Content-Security-Policy" in message


def test_element_ids() -> None:
    assert element_ids('<li id="a"><span id="b">x</span></li><p>no id</p>') == {"a", "b"}

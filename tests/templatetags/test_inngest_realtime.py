"""Exact HTML of each tag."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from django_inngest_realtime import publish_html_sync, publish_sync
from django_inngest_realtime.tokens import verify_token
from tests.channels import live, pages
from tests.helpers import realtime_settings


class FakeUser:
    is_authenticated = True

    def __init__(self, pk: int, username: str) -> None:
        self.pk = pk
        self.username = username


def render(source: str, user: object = None, **context: object) -> str:
    request = RequestFactory().get("/page")
    request.user = user or AnonymousUser()  # type: ignore[assignment]
    return Template("{% load inngest_realtime %}" + source).render(
        Context({"request": request, **context})
    )


def split_token(html: str) -> tuple[str, dict[str, object]]:
    """Replace the embedded token (it is signed with a timestamp) by TOKEN; return it too."""
    match = re.search(r'<script type="application/json">(.*?)</script>', html)
    assert match, html
    token = json.loads(match.group(1))
    return html.replace(match.group(0), "TOKEN"), token


def test_script_tag_with_and_without_nonce() -> None:
    css = '<link rel="stylesheet" href="/static/django_inngest_realtime/widgets.css">\n'
    assert render("{% inngest_realtime_script %}") == css + (
        '<script src="/static/django_inngest_realtime/realtime.js" defer></script>\n'
        '<script src="/static/django_inngest_realtime/widgets.js" defer></script>'
    )
    assert render("{% inngest_realtime_script %}", csp_nonce="abc123") == css + (
        '<script src="/static/django_inngest_realtime/realtime.js" defer nonce="abc123"></script>\n'
        '<script src="/static/django_inngest_realtime/widgets.js" defer nonce="abc123"></script>'
    )


def test_feed_renders_history_as_text_then_embeds_position() -> None:
    first = publish_sync(live("f1").logs("<b>hello</b> & bye"))
    publish_sync(live("f1").votes({"id": "v", "likes": 1}))
    second = publish_sync(live("f1").logs("two"))
    html, token = split_token(render('{% realtime_feed ch "logs" limit=10 %}', ch=live("f1")))
    assert html == (
        '<div class="inngest-realtime inngest-realtime-feed" data-inngest-realtime="feed" '
        f'data-channel="live:f1" data-since="{second.seq}" data-limit="10">TOKEN'
        '<span class="inngest-realtime-status" data-state="connecting" role="status">'
        'connecting</span><ol class="inngest-realtime-items">'
        f'<li data-id="{first.id}" data-seq="{first.seq}" data-topic="logs">'
        "&lt;b&gt;hello&lt;/b&gt; &amp; bye</li>"
        f'<li data-id="{second.id}" data-seq="{second.seq}" data-topic="logs">two</li>'
        "</ol></div>\n"
    )
    assert token["channel"] == "live:f1" and token["topics"] == ["logs"]
    assert verify_token(token["key"]).topics == ("logs",)


def test_feed_limit_and_object_rendering() -> None:
    for i in range(4):
        publish_sync(live("f2").votes({"id": f"p{i}", "likes": i}))
    html = render('{% realtime_feed "live:f2" "votes" limit=2 %}')
    assert html.count("<li ") == 2
    assert "{&quot;id&quot;: &quot;p3&quot;, &quot;likes&quot;: 3}" in html


def test_feed_no_longer_renders_a_template_for_each_viewer() -> None:
    with pytest.raises(TemplateSyntaxError, match=r"render them once when you publish, with "):
        render('{% realtime_feed "live:f2" "votes" limit=1 template="vote_item.html" %}')


def test_live_html_feed_renders_the_fragments_aimed_at_it_from_history() -> None:
    ref = pages("f3")
    publish_sync(ref.logs("a <b>text</b> item"))
    for n in range(4):
        publish_html_sync(
            ref, "append", "items", template="html_item.html", context={"n": n, "text": f"<{n}>"}
        )
    publish_html_sync(ref, "append", "elsewhere", template="html_item.html", context={"n": 9})
    publish_html_sync(ref, "remove", "item-0")  # applied live only
    # A prepend puts the newest first: over the limit, the last go.
    last = publish_html_sync(
        ref, "prepend", "items", template="html_item.html", context={"n": 5, "text": "first"}
    )
    html, token = split_token(render('{% realtime_feed ref limit=3 id="items" %}', ref=ref))
    assert html == (
        '<div class="inngest-realtime inngest-realtime-feed" data-inngest-realtime="feed" '
        f'data-channel="page:f3" data-since="{last.seq}" data-limit="3" data-html-topics="html">'
        'TOKEN<span class="inngest-realtime-status" data-state="connecting" role="status">'
        'connecting</span><ol class="inngest-realtime-items" id="items">'
        '<li id="item-5" class="item">first</li>\n'
        '<li id="item-1" class="item">&lt;1&gt;</li>\n'
        '<li id="item-2" class="item">&lt;2&gt;</li>\n'
        "</ol></div>\n"
    )
    assert token["topics"] == ["logs", "html"]
    updated = publish_html_sync(
        ref, "update", "items", template="html_item.html", context={"n": 7, "text": "only"}
    )
    html, _ = split_token(render('{% realtime_feed ref "html" id="items" %}', ref=ref))
    assert f'data-since="{updated.seq}"' in html
    assert '<ol class="inngest-realtime-items" id="items"><li id="item-7"' in html
    assert "text item" not in html  # the feed shows the topics it was given


def test_a_feed_id_must_be_an_element_id() -> None:
    with pytest.raises(ValueError, match="element id"):
        render('{% realtime_feed "page:x" id="two words" %}')


def test_realtime_html_subscribes_from_the_current_position() -> None:
    sent = publish_html_sync(pages("s1"), "remove", "gone")
    html, token = split_token(render("{% realtime_html ref %}", ref=pages("s1")))
    assert html == (
        '<span class="inngest-realtime inngest-realtime-html" data-inngest-realtime="html" '
        f'data-channel="page:s1" data-since="{sent.seq}" data-html-topics="html" hidden>TOKEN'
        "</span>\n"
    )
    assert token["topics"] == ["html"]
    assert render('{% realtime_html "page:s2" "logs" %}') == (
        "<!-- inngest-realtime: not live-HTML topics: logs (page:s2) -->"
    )
    assert render('{% realtime_html "live:s3" %}') == (
        "<!-- inngest-realtime: no live-HTML topic (live:s3) -->"
    )


@pytest.mark.django_db
def test_dom_id_filter() -> None:
    from tests.broadcast_app.models import Board

    board = Board.objects.create(name="b")
    assert render('<li id="{{ b|dom_id }}"><p id="{{ b|dom_id:"x" }}">', b=board) == (
        f'<li id="board-{board.pk}"><p id="x-board-{board.pk}">'
    )


def test_value_shows_latest_field_or_initial() -> None:
    html, _ = split_token(render('{% realtime_value "live:v1" "votes" field="likes" initial=7 %}'))
    assert html == (
        '<span class="inngest-realtime inngest-realtime-value" data-inngest-realtime="value" '
        'data-channel="live:v1" data-topic="votes" data-field="likes" data-since="0">TOKEN'
        '<span class="inngest-realtime-status" data-state="connecting" role="status">'
        'connecting</span><span class="inngest-realtime-text">7</span></span>\n'
    )
    sent = publish_sync(live("v1").votes({"id": "x", "likes": 12}))
    html = render('{% realtime_value "live:v1" "votes" field="likes" initial=7 %}')
    assert '<span class="inngest-realtime-text">12</span>' in html
    assert f'data-since="{sent.seq}"' in html


def test_token_tag_for_custom_javascript() -> None:
    html = render(
        '{% realtime_token ch "logs" as token %}{{ token|json_script:"tok" }}', ch=live("t")
    )
    assert html.startswith('<script id="tok" type="application/json">{"channel": "live:t"')
    token = json.loads(html.split(">", 1)[1].rsplit("<", 1)[0])
    assert verify_token(token["key"]).channel == "live:t"


@pytest.mark.parametrize(
    "source",
    [
        '{% realtime_feed "private:ann" "logs" %}',
        '{% realtime_value "private:ann" "logs" %}',
        '{% realtime_token "private:ann" "logs" as t %}{{ t }}',
    ],
)
def test_refused_renders_only_a_comment(source: str) -> None:
    assert render(source, FakeUser(2, "bob")) == (
        "<!-- inngest-realtime: not allowed to subscribe (private:ann) -->"
    )
    assert "data-inngest-realtime" in render(source, FakeUser(1, "ann")) or "key" in render(
        source, FakeUser(1, "ann")
    )


def test_unknown_channel_or_topic_is_a_comment_and_escaped() -> None:
    assert render('{% realtime_feed "nope:-->x<script>" %}') == (
        "<!-- inngest-realtime: no such channel or topic: No channel definition matches "
        "&#x27;nope:- -&gt;x&lt;script&gt;&#x27;. (nope:- -&gt;x&lt;script&gt;) -->"
    )
    assert render('{% realtime_feed "live:1" "nope" %}').startswith(
        "<!-- inngest-realtime: no such channel or topic:"
    )


@realtime_settings(API_BASE_URL="https://rt.example.com/")
def test_tokens_in_widgets_name_the_api_base_url() -> None:
    _, token = split_token(render('{% realtime_feed "live:b" %}'))
    assert token["apiBaseUrl"] == "https://rt.example.com/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tag",
    [
        '{% realtime_feed "live:req" %}',
        '{% realtime_value "live:req" "logs" %}',
        '{% realtime_confirmations "live:req" "logs" %}',
        '{% realtime_token "live:req" as t %}<script type="application/json">{{ t.apiBaseUrl }}'
        "</script>",
    ],
)
def test_tags_build_the_api_base_url_from_the_context_request(tag: str) -> None:
    request = RequestFactory().get("/page", HTTP_HOST="shop.example:8443", secure=True)
    request.user = AnonymousUser()  # type: ignore[assignment]
    with realtime_settings(API_BASE_URL=""):
        html = Template("{% load inngest_realtime %}" + tag).render(Context({"request": request}))
        with pytest.raises(ImproperlyConfigured, match=r"INNGEST_REALTIME\['API_BASE_URL'\]"):
            Template("{% load inngest_realtime %}" + tag).render(Context({}))
    match = re.search(r'<script type="application/json">(.*?)</script>', html)
    assert match, html
    embedded = match.group(1)
    base = embedded if embedded.startswith("http") else json.loads(embedded)["apiBaseUrl"]
    assert base == "https://shop.example:8443/"


@pytest.mark.django_db
def test_confirmations_lists_pending_with_buttons_for_deciders() -> None:
    import datetime

    from django.contrib.auth.models import Permission, User
    from django.utils import timezone

    from django_inngest_realtime.models import Confirmation

    pending = Confirmation.objects.create(
        title="Ship it?",
        message="<b>Confirm</b> to proceed?",
        channel="live:c1",
        topic="logs",
        event_name="x",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    Confirmation.objects.create(
        title="Old",
        message="done",
        channel="live:c1",
        topic="logs",
        event_name="x",
        status=Confirmation.Status.APPROVED,
        expires_at=timezone.now(),
    )
    decider = User.objects.create_user("dee")
    decider.user_permissions.add(Permission.objects.get(codename="decide_confirmation"))
    decider = User.objects.get(pk=decider.pk)
    source = '{% realtime_confirmations "live:c1" "logs" %}'
    html, _ = split_token(render(source, decider))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert csrf
    html = html.replace(csrf.group(1), "CSRF")
    assert html == (
        '<div class="inngest-realtime inngest-realtime-confirmations" '
        'data-inngest-realtime="confirmations" data-channel="live:c1" data-topic="logs" '
        'data-since="0" data-url-template="/confirmations/00000000-0000-0000-0000-000000000000/">'
        'TOKEN<span class="inngest-realtime-status" data-state="connecting" '
        'role="status">connecting</span><ul class="inngest-realtime-items">'
        f'<li data-token="{pending.token}" data-status="pending">'
        '<strong class="inngest-realtime-title">Ship it?</strong> '
        '<span class="inngest-realtime-message">&lt;b&gt;Confirm&lt;/b&gt; to proceed?</span> '
        '<span class="inngest-realtime-outcome">Pending</span>'
        f'<form method="post" action="/confirmations/{pending.token}/">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="CSRF">'
        '<button name="decision" value="approve">Approve</button> '
        '<button name="decision" value="reject">Reject</button></form></li></ul></div>\n'
    )
    viewer = render(source, User.objects.create_user("vic"))
    assert "Ship it?" in viewer and "<form" not in viewer


def test_a_stored_unsafe_fragment_is_not_rendered() -> None:
    """History written around ``publish_html()`` (by a process with other definitions) is
    checked again before the feed shows it."""
    from django_inngest_realtime.brokers import get_broker
    from django_inngest_realtime.envelope import Message

    for html in ['<li id="a" onclick="steal()">bad</li>', '<li id="b">good</li>']:
        data = {"action": "append", "target": "items", "html": html}
        get_broker().publish_sync(Message(channel="page:f9", topic="html", data=data))
    html = render('{% realtime_feed "page:f9" "html" id="items" %}')
    assert '<li id="b">good</li>' in html
    assert "steal" not in html

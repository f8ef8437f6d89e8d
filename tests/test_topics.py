from __future__ import annotations

import pydantic
import pytest

from django_inngest_realtime import channel, topic
from django_inngest_realtime.topics import registry


class PostUpdated(pydantic.BaseModel):
    id: str
    likes: int


global_channel = channel("t-global").add_topic(topic("logs").type(str))
post_channel = (
    channel(lambda post_id: f"t-post:{post_id}")
    .add_topic(topic("updated").schema(PostUpdated))
    .add_topic(topic("deleted"))
)
fmt_channel = channel("t-user:{user_id}/room:{room}").add_topic(topic("say").type(list[int]))


def test_static_channel_and_typed_topic() -> None:
    msg = global_channel().logs("hello")
    assert (msg.channel, msg.topic, msg.data) == ("t-global", "logs", "hello")


def test_parameterised_callable_channel_validates_schema() -> None:
    msg = post_channel("123").updated({"id": "123", "likes": "5"})
    assert msg.channel == "t-post:123"
    assert msg.data == {"id": "123", "likes": 5}
    model = post_channel(post_id=7).updated(PostUpdated(id="7", likes=1))
    assert model.data == {"id": "7", "likes": 1}


def test_format_string_channel() -> None:
    ref = fmt_channel("u1", room="r 2")
    assert ref.name == "t-user:u1/room:r 2"
    assert ref.say([1, "2"]).data == [1, 2]


def test_invalid_data_names_channel_and_topic() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        post_channel("9").updated({"id": "9", "likes": "many"})
    text = str(info.value)
    assert "t-post:9" in text and "updated" in text and "likes" in text
    with pytest.raises(pydantic.ValidationError, match="t-global"):
        global_channel().logs(["not", "a", "string"])


def test_untyped_topic_takes_any_json_but_not_objects() -> None:
    assert post_channel("1").deleted({"a": [1, None]}).data == {"a": [1, None]}
    with pytest.raises(TypeError, match="not JSON-serializable"):
        post_channel("1").deleted(object())


def test_unknown_topic_and_missing_parameters() -> None:
    with pytest.raises(AttributeError, match="no topic 'nope'"):
        post_channel("1").nope  # noqa: B018
    with pytest.raises(LookupError, match="topics: updated, deleted"):
        post_channel("1").topic("nope")
    with pytest.raises(TypeError, match="missing parameter"):
        post_channel()
    with pytest.raises(ValueError, match="already has a topic"):
        channel("t-dup").add_topic(topic("a")).add_topic(topic("a"))


def test_topic_names_that_are_not_identifiers() -> None:
    ch = channel("t-odd").add_topic(topic("ai-tokens").type(str))
    assert ch()["ai-tokens"]("x").topic == "ai-tokens"


def test_channel_names_must_be_printable_and_bounded() -> None:
    with pytest.raises(ValueError, match="printable"):
        post_channel("a\nb")
    with pytest.raises(ValueError, match="limit"):
        post_channel("x" * 300)
    assert post_channel("héllo wörld ✓").name == "t-post:héllo wörld ✓"


def test_registry_resolves_names_to_definitions_and_parameters() -> None:
    ref = registry.resolve("t-post:abc:def")
    assert ref.definition is post_channel and ref.params == {"post_id": "abc:def"}
    ref = registry.resolve("t-user:u9/room:lobby")
    assert ref.definition is fmt_channel and ref.params == {"user_id": "u9", "room": "lobby"}
    assert registry.resolve("t-global").definition is global_channel
    with pytest.raises(LookupError):
        registry.resolve("t-nothing-here")


def test_most_specific_pattern_wins() -> None:
    general = channel("t-spec:{rest}").add_topic(topic("a"))
    special = channel("t-spec:admin:{id}").add_topic(topic("a"))
    assert registry.resolve("t-spec:admin:1").definition is special
    assert registry.resolve("t-spec:other").definition is general


def test_authorize_is_kept() -> None:
    def allow(user: object, post_id: str) -> bool:
        return post_id == "1"

    ch = channel("t-auth:{post_id}", authorize=allow).add_topic(topic("a"))
    assert ch.authorize is allow


def test_bad_callable_is_explained() -> None:
    with pytest.raises(TypeError, match="build its name"):
        channel(lambda n: f"t-bad:{int(n) + 1}")

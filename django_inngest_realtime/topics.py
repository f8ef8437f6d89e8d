"""Channel and topic definitions, message validation and the channel registry.

Mirrors Inngest's TypeScript ``channel()`` / ``topic()`` builders::

    post_channel = (
        channel(lambda post_id: f"post:{post_id}")
        .add_topic(topic("updated").schema(PostUpdated))
    )
    msg = post_channel("123").updated({"id": "123", "likes": 5})
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import re
import string
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pydantic
from pydantic_core import PydanticSerializationError

#: Longest concrete channel name accepted.
MAX_CHANNEL_NAME_LENGTH = 256
#: Names starting so are the app's own per-run channels (``run_channels.py``): no channel
#: a project defines may produce one.
RESERVED_PREFIX = "$run:"
_PLACEHOLDER = "\x00{}\x00"


class Topic:
    """A named topic with an optional type or pydantic schema."""

    def __init__(self, name: str, adapter: pydantic.TypeAdapter[Any] | None = None) -> None:
        if not isinstance(name, str) or not name or not name.isprintable():
            raise ValueError(f"Topic name must be a non-empty printable string, got {name!r}.")
        self.name = name
        self._adapter = adapter

    def type(self, tp: Any) -> Topic:
        """Validate this topic's data with ``pydantic.TypeAdapter(tp)``."""
        return Topic(self.name, pydantic.TypeAdapter(tp))

    def schema(self, model: builtins.type[pydantic.BaseModel]) -> Topic:
        """Validate this topic's data with a pydantic model."""
        if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
            raise TypeError(f"topic({self.name!r}).schema() takes a pydantic model class.")
        return Topic(self.name, pydantic.TypeAdapter(model))

    def validate(self, data: Any, channel_name: str) -> Any:
        """Validate ``data`` and return its JSON-compatible form.

        Raises ``pydantic.ValidationError`` titled with the channel and topic.
        """
        where = f"channel {channel_name!r} topic {self.name!r}"
        if self._adapter is None:
            try:
                return pydantic.TypeAdapter(Any).dump_python(data, mode="json")
            except PydanticSerializationError as exc:
                raise TypeError(f"Data for {where} is not JSON-serializable: {exc}") from exc
        try:
            value = self._adapter.validate_python(data)
        except pydantic.ValidationError as exc:
            raise pydantic.ValidationError.from_exception_data(
                title=where,
                line_errors=exc.errors(include_url=False),  # type: ignore[arg-type]
            ) from None
        return self._adapter.dump_python(value, mode="json")

    def __repr__(self) -> str:
        return f"topic({self.name!r})"


def topic(name: str) -> Topic:
    """Define a topic; chain ``.type(T)`` or ``.schema(Model)`` to validate its data."""
    return Topic(name)


@dataclasses.dataclass(frozen=True)
class TopicMessage:
    """A validated message, ready to publish."""

    channel: str
    topic: str
    data: Any
    definition: Channel = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class TopicRef:
    """One topic of one concrete channel; call it with data to get a :class:`TopicMessage`."""

    ref: ChannelRef
    topic: Topic

    @property
    def channel(self) -> str:
        return self.ref.name

    @property
    def name(self) -> str:
        return self.topic.name

    def __call__(self, data: Any) -> TopicMessage:
        return TopicMessage(
            self.ref.name,
            self.topic.name,
            self.topic.validate(data, self.ref.name),
            self.ref.definition,
        )


@dataclasses.dataclass(frozen=True)
class ChannelRef:
    """A concrete channel (``post:123``) of a :class:`Channel` definition."""

    name: str
    definition: Channel = dataclasses.field(repr=False)
    params: dict[str, str] = dataclasses.field(default_factory=dict)

    def topic(self, name: str) -> TopicRef:
        """Return the topic called ``name``; works for names that are not identifiers."""
        try:
            return TopicRef(self, self.definition.topics[name])
        except KeyError:
            known = ", ".join(self.definition.topics) or "none"
            raise LookupError(
                f"Channel {self.name!r} has no topic {name!r} (topics: {known})."
            ) from None

    __getitem__ = topic

    def __getattr__(self, name: str) -> TopicRef:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.topic(name)
        except LookupError as exc:
            raise AttributeError(str(exc)) from None

    @property
    def topics(self) -> list[str]:
        return list(self.definition.topics)

    def __str__(self) -> str:
        return self.name


AuthorizeFn = Callable[..., bool]

#: The topic that carries a ``presence=True`` channel's joins and leaves (``presences.py``).
PRESENCE_TOPIC = "presence"


class PresenceEvent(pydantic.BaseModel):
    """What the ``presence`` topic carries: a member joined or left."""

    action: Literal["join", "leave"]
    member: dict[str, str | None]


class Channel:
    """A channel definition: a static name or a pattern with parameters, and its topics."""

    def __init__(
        self,
        name: str | Callable[..., str],
        *,
        authorize: AuthorizeFn | None = None,
        presence: bool = False,
        reserved: bool = False,
    ) -> None:
        self.topics: dict[str, Topic] = {}
        #: The app's own per-run channel definition (names starting with ``RESERVED_PREFIX``).
        self.reserved = reserved
        self.authorize = authorize
        #: Whether subscribers are tracked (``presences.py``): joins and leaves are published
        #: on the ``presence`` topic, which is added to the channel.
        self.presence = presence
        if callable(name):
            self._builder: Callable[..., str] = name
            self.params = [
                p.name
                for p in inspect.signature(name).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            try:
                built = str(name(**{p: _PLACEHOLDER.format(p) for p in self.params}))
            except Exception as exc:
                raise TypeError(
                    "A channel callable must build its name from its parameters as strings "
                    f"(for example lambda post_id: f'post:{{post_id}}'); calling it failed: {exc!r}"
                ) from exc
            self.pattern = re.sub("\x00(\\w+)\x00", r"{\1}", built)
        elif isinstance(name, str):
            self.pattern = name
            self.params = [f for _, f, _, _ in string.Formatter().parse(name) if f]
            self._builder = name.format
        else:
            raise TypeError("channel() takes a name, a format string or a callable.")
        if self.pattern.startswith(RESERVED_PREFIX) != reserved:
            raise ValueError(
                f"Channel names starting with {RESERVED_PREFIX!r} are reserved for runs' "
                f"status channels; {self.pattern!r} cannot be defined."
            )
        self._regex = _pattern_regex(self.pattern, self.params)
        if presence:
            self.add_topic(Topic(PRESENCE_TOPIC).schema(PresenceEvent))
        registry.register(self)

    def add_topic(self, t: Topic) -> Channel:
        """Add a topic and return the channel, for chaining."""
        if t.name in self.topics:
            raise ValueError(f"Channel {self.pattern!r} already has a topic {t.name!r}.")
        self.topics[t.name] = t
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> ChannelRef:
        if args:
            if len(args) > len(self.params):
                raise TypeError(f"Channel {self.pattern!r} takes parameters {self.params}.")
            kwargs.update(zip(self.params, args, strict=False))
        missing = [p for p in self.params if p not in kwargs]
        if missing:
            raise TypeError(f"Channel {self.pattern!r} is missing parameter(s) {missing}.")
        params = {p: str(kwargs[p]) for p in self.params}
        name = str(self._builder(**params))
        validate_channel_name(name)
        if name.startswith(RESERVED_PREFIX) and not self.reserved:
            raise ValueError(
                f"Channel {self.pattern!r} built {name[:40]!r}: names starting with "
                f"{RESERVED_PREFIX!r} are reserved for runs' status channels."
            )
        return ChannelRef(name, self, params)

    def match(self, name: str) -> dict[str, str] | None:
        """Return the parameters if ``name`` is a concrete name of this channel."""
        m = self._regex.fullmatch(name)
        return m.groupdict() if m else None

    def __repr__(self) -> str:
        return f"channel({self.pattern!r})"


def channel(
    name: str | Callable[..., str],
    *,
    authorize: AuthorizeFn | None = None,
    presence: bool = False,
) -> Channel:
    """Define a channel: a static name, a format string ``"post:{id}"``, or a callable.

    ``presence=True`` tracks who is subscribed (``presences.py``).
    """
    return Channel(name, authorize=authorize, presence=presence)


def validate_channel_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a usable concrete channel name."""
    if not isinstance(name, str) or not name or not name.isprintable():
        raise ValueError(f"Channel name must be a non-empty printable string, got {name!r}.")
    if len(name) > MAX_CHANNEL_NAME_LENGTH:
        raise ValueError(
            f"Channel name {name[:40]!r}... is {len(name)} characters; "
            f"the limit is {MAX_CHANNEL_NAME_LENGTH}."
        )


def _pattern_regex(pattern: str, params: list[str]) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if field:
            group = f"(?P={field})" if f"(?P<{field}>" in "".join(parts) else f"(?P<{field}>.+?)"
            parts.append(group)
    return re.compile("".join(parts), re.DOTALL)


class Registry:
    """Maps concrete channel names back to their definitions."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}
        self._lock = threading.Lock()

    def register(self, definition: Channel) -> None:
        with self._lock:
            # Redefining a pattern (module reload, tests) replaces the old definition.
            self._channels[definition.pattern] = definition

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self._channels.values()))

    def resolve(self, name: str) -> ChannelRef:
        """Return the :class:`ChannelRef` for a concrete name; ``LookupError`` if none matches."""
        validate_channel_name(name)
        if name.startswith(RESERVED_PREFIX):  # only the app's own definition may match
            candidates = [d for d in self if d.reserved]
        else:
            candidates = [d for d in self if not d.reserved]
        exact = self._channels.get(name)
        if exact is not None and not exact.params:
            return ChannelRef(name, exact, {})
        matches = [(d, p) for d in candidates if (p := d.match(name)) is not None]
        if not matches:
            raise LookupError(f"No channel definition matches {name!r}.")
        # The most specific pattern (most literal characters) wins.
        definition, params = max(matches, key=lambda m: len(name) - sum(map(len, m[1].values())))
        return ChannelRef(name, definition, params)


registry = Registry()

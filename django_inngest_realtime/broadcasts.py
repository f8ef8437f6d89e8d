"""Model broadcasts: a model's changes published when their transaction commits.

Declared on the model, as Turbo's ``broadcasts_to`` is on a Rails model::

    class Post(models.Model):
        title = models.CharField(max_length=200)

        changes = JSONBroadcast(lambda post: posts_channel(), topic="changes", schema=PostOut)
        live = HTMLBroadcast(lambda post: posts_channel(), template="posts/_post.html")

``save()`` and ``delete()`` (one by one, or a queryset's ``delete()``) broadcast
``created`` / ``updated`` / ``deleted`` once the row is visible to everyone
(``transaction.on_commit``), in the order they happened; a rolled-back transaction
broadcasts nothing. ``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` send
no model signals, so they broadcast nothing: call ``Post.changes.broadcast(post, "updated")``
for the rows you changed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any, Generic, Literal, TypeVar, get_args

import pydantic
import pydantic_core
from django.db import models, router, transaction
from django.db.models.signals import class_prepared, post_delete, post_save

from django_inngest_realtime.fragments import element_ids
from django_inngest_realtime.html import HtmlTopic, check_target, dom_id, render_fragment
from django_inngest_realtime.topics import ChannelRef, TopicRef

logger = logging.getLogger(__name__)

Event = Literal["created", "updated", "deleted"]
EVENTS: tuple[Event, ...] = get_args(Event)
T = TypeVar("T")
ChannelFor = Callable[[Any], ChannelRef]

#: The broadcasts each model declares (a proxy also has its concrete model's).
_registry: dict[type[models.Model], list[Broadcast]] = {}


class Change(pydantic.BaseModel, Generic[T]):
    """The ``data`` of a JSON broadcast; ``Change[PostOut]`` as a topic schema types ``object``."""

    event: Event
    pk: Any
    #: The instance through the broadcast's schema (its state when it was saved or deleted).
    object: T | None = None


class Broadcast:
    """What a model broadcasts, declared as a model attribute; see the subclasses."""

    def __init__(self, channel: ChannelFor, *, on: Iterable[Event] = EVENTS) -> None:
        if not callable(channel):
            raise TypeError("A broadcast's channel is a callable: instance -> channel reference.")
        self.channel = channel
        self.on = frozenset(on)
        unknown = self.on - set(EVENTS)
        if unknown:
            raise ValueError(f"Unknown broadcast events {sorted(unknown)}; known: {EVENTS}.")
        self.model: type[models.Model] | None = None
        self.name = ""

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        """Called by Django's model metaclass: attach to ``cls`` and listen to its signals."""
        if cls._meta.abstract:
            raise TypeError(
                f"{cls.__name__}.{name}: declare broadcasts on a concrete model, not an "
                "abstract one (each concrete model declares its own)."
            )
        self.model, self.name = cls, name
        setattr(cls, name, self)
        _registry.setdefault(cls, []).append(self)
        _listen(cls)
        class_prepared.connect(_proxy_prepared, dispatch_uid="django_inngest_realtime.broadcasts")

    def channel_for(self, instance: models.Model) -> ChannelRef:
        ref = self.channel(instance)
        if not isinstance(ref, ChannelRef):
            raise TypeError(
                f"{self}: the channel callable returned {type(ref).__name__}, not a channel "
                "reference such as posts_channel()."
            )
        return ref

    def broadcast(self, instance: models.Model, event: Event) -> None:
        """Broadcast ``event`` for ``instance`` when the current transaction commits (at
        once outside one): for changes made without signals, such as ``QuerySet.update()``."""
        if event not in EVENTS:
            raise ValueError(f"Unknown broadcast event {event!r}; known: {EVENTS}.")
        using = instance._state.db or router.db_for_write(type(instance), instance=instance)
        self._schedule(instance, event, using)

    def _schedule(self, instance: models.Model, event: Event, using: str) -> None:
        if event not in self.on:
            return
        # The state now (a later change in this transaction has its own broadcast); the
        # copy keeps the pk that delete() clears on the instance.
        snapshot = copy.copy(instance)
        send = self.prepare(snapshot, event)
        transaction.on_commit(lambda: self._send(send, snapshot, event), using=using)

    def prepare(self, instance: models.Model, event: Event) -> Callable[[], object]:
        """Check what can be checked now (errors raise in ``save()``); return the sender."""
        raise NotImplementedError

    def _send(self, send: Callable[[], object], instance: models.Model, event: Event) -> None:
        # After the commit nothing can be undone: a failure is logged, and the other
        # on-commit work of the transaction still runs.
        try:
            send()
        except Exception:
            logger.exception("Could not broadcast %s of %r (%s).", event, instance, self)

    def __str__(self) -> str:
        model = self.model.__name__ if self.model else "?"
        return f"{model}.{self.name} ({type(self).__name__})"


class JSONBroadcast(Broadcast):
    """Publishes :class:`Change` data on a topic: ``{"event", "pk", "object"}``, ``object``
    being the instance through the pydantic ``schema`` (without one: absent, or ``null``
    on a topic typed ``Change``)."""

    def __init__(
        self,
        channel: ChannelFor,
        *,
        topic: str,
        schema: type[pydantic.BaseModel] | None = None,
        on: Iterable[Event] = EVENTS,
    ) -> None:
        super().__init__(channel, on=on)
        self.topic = topic
        self.schema = schema

    def prepare(self, instance: models.Model, event: Event) -> Callable[[], object]:
        from django_inngest_realtime.publishing import publish_sync

        data: dict[str, Any] = {"event": event, "pk": pydantic_core.to_jsonable_python(instance.pk)}
        if self.schema is not None:
            obj = self.schema.model_validate(instance, from_attributes=True)
            data["object"] = obj.model_dump(mode="json")
        message = self.channel_for(instance).topic(self.topic)(data)
        return lambda: publish_sync(message)


class HTMLBroadcast(Broadcast):
    """Publishes live HTML (``html.py``): ``created`` inserts ``template`` into ``target``
    (``inserts_by`` ``"append"`` or ``"prepend"``), ``updated`` replaces the element
    ``dom_id(instance)`` with it, ``deleted`` removes that element.

    ``template`` renders with the instance (as ``object`` and as its model name), and
    ``dom_id``; its fragment must carry ``id="{{ dom_id }}"``. ``target`` is an element id
    or a callable of the instance; default ``"<model name>-list"``.
    """

    def __init__(
        self,
        channel: ChannelFor,
        *,
        template: str,
        target: str | Callable[[Any], str] | None = None,
        inserts_by: Literal["append", "prepend"] = "append",
        topic: str | None = None,
        on: Iterable[Event] = EVENTS,
    ) -> None:
        super().__init__(channel, on=on)
        if inserts_by not in ("append", "prepend"):
            raise ValueError(f"inserts_by is 'append' or 'prepend', got {inserts_by!r}.")
        self.template, self.target, self.inserts_by, self.topic = (
            template,
            target,
            inserts_by,
            topic,
        )

    def topic_for(self, instance: models.Model) -> TopicRef:
        ref = self.channel_for(instance)
        names = (
            [self.topic]
            if self.topic
            else [name for name, t in ref.definition.topics.items() if isinstance(t, HtmlTopic)]
        )
        if len(names) != 1 or not isinstance(ref.topic(names[0]).topic, HtmlTopic):
            raise LookupError(
                f"{self}: channel {ref.name!r} needs one live-HTML topic (html_topic()), or "
                "topic= naming it."
            )
        return ref.topic(names[0])

    def prepare(self, instance: models.Model, event: Event) -> Callable[[], object]:
        from django_inngest_realtime.publishing import publish_sync

        ref, element = self.topic_for(instance), dom_id(instance)
        if event == "deleted":
            message = ref({"action": "remove", "target": element, "html": ""})
            return lambda: publish_sync(message)
        action: str = "replace"
        target = element
        if event == "created":
            action = self.inserts_by
            chosen = self.target(instance) if callable(self.target) else self.target
            target = check_target(chosen or f"{instance._meta.model_name}-list")

        def send() -> None:  # rendered after the commit: the template sees committed rows
            html = render_fragment(self.template, self.context(instance, element))
            if element not in element_ids(html):
                raise ValueError(
                    f"Template {self.template!r} must render an element with "
                    f'id="{{{{ dom_id }}}}" ({element!r}) for later updates to find it.'
                )
            publish_sync(ref({"action": action, "target": target, "html": html}))

        return send

    def context(self, instance: models.Model, element: str) -> dict[str, Any]:
        """The template's context; override to add to it."""
        return {
            "object": instance,
            instance._meta.model_name or "object": instance,
            "dom_id": element,
        }


def _listen(cls: type[models.Model]) -> None:
    uid = f"django_inngest_realtime.broadcasts:{cls._meta.label}"
    post_save.connect(_saved, sender=cls, weak=False, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=cls, weak=False, dispatch_uid=uid)


def _proxy_prepared(sender: type[models.Model], **kwargs: Any) -> None:
    """A proxy of a broadcasting model broadcasts too (signals name the proxy class)."""
    if sender._meta.proxy and sender._meta.concrete_model in _registry:
        _listen(sender)


def _broadcasts(sender: type[models.Model]) -> list[Broadcast]:
    own = _registry.get(sender, [])
    concrete = sender._meta.concrete_model
    if concrete is None or concrete is sender:
        return own
    return [*_registry.get(concrete, []), *own]


def _saved(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    if raw:  # loaddata: fixtures are not changes anyone watches
        return
    for broadcast in _broadcasts(sender):
        broadcast._schedule(instance, "created" if created else "updated", using)


def _deleted(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    for broadcast in _broadcasts(sender):
        broadcast._schedule(instance, "deleted", using)

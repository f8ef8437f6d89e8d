"""Admin for confirmations and their reply outbox; every decision goes through ``decide()``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Case, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from django_inngest_realtime.confirmations.errors import (
    ConfirmationError,
    InvalidChoice,
    InvalidResponse,
)
from django_inngest_realtime.confirmations.notices import notify_assignees
from django_inngest_realtime.confirmations.service import PERMISSION, can_decide, cancel, decide
from django_inngest_realtime.confirmations.state import Decision
from django_inngest_realtime.forms import ResponseForm
from django_inngest_realtime.models import Confirmation, ConfirmationNotice, ConfirmationReply

VIEW = "django_inngest_realtime.view_confirmation"
CHANGE = "django_inngest_realtime.change_confirmation"
#: ``(confirmation, user, data, chosen) -> Decision`` for each button's POST name.
Decider = Callable[[Confirmation, Any, Any, list[str]], Decision]


def _approve(c: Confirmation, user: Any, data: Any, chosen: list[str]) -> Decision:
    return decide(c.token, approved=True, user=user, data=data, chosen=chosen)


BUTTONS: dict[str, Decider] = {
    "_approve": _approve,
    "_choose": _approve,  # an option's button: approve with that option
    "_reject": lambda c, user, data, chosen: decide(
        c.token, approved=False, user=user, data=data, chosen=chosen
    ),
    "_cancel": lambda c, user, data, chosen: cancel(c.token, user=user),
}
if TYPE_CHECKING:
    ConfirmationAdminBase = admin.ModelAdmin[Confirmation]
    ReplyAdminBase = admin.ModelAdmin[ConfirmationReply]
    NoticeInlineBase = admin.TabularInline[ConfirmationNotice, Confirmation]
else:  # ModelAdmin is only generic in django-stubs.
    ConfirmationAdminBase = ReplyAdminBase = admin.ModelAdmin
    NoticeInlineBase = admin.TabularInline
PENDING_FIRST = Case(When(status=Confirmation.Status.PENDING, then=Value(0)), default=Value(1))


def _when(value: datetime.datetime) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


class NoticeInline(NoticeInlineBase):
    """Who was notified, and when: the confirmation's notice rows, read-only."""

    model = ConfirmationNotice
    extra = 0
    can_delete = False
    fields = readonly_fields = ("user", "kind", "outcome", "attempts", "last_error")
    verbose_name_plural = _("notices (who was notified, and when)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.has_perm(VIEW) or user.has_perm(CHANGE))

    @admin.display(description=_("outcome"))
    def outcome(self, notice: ConfirmationNotice) -> str:
        if notice.delivered_at is None:
            return f"due {_when(notice.next_attempt_at)}"
        if notice.skipped:
            return f"not sent ({notice.skipped}), {_when(notice.delivered_at)}"
        return f"sent {_when(notice.delivered_at)}"


@admin.register(Confirmation)
class ConfirmationAdmin(ConfirmationAdminBase):
    list_display = (
        "__str__",
        "status",
        "fn_id",
        "channel",
        "requested_at",
        "expires_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "fn_id")
    search_fields = ("title", "message", "=token", "fn_id", "run_id", "channel")
    ordering = (PENDING_FIRST.asc(), "-requested_at")
    filter_horizontal = ("assignees", "assignee_groups")
    actions = ("approve_selected", "reject_selected", "cancel_selected")
    inlines = (NoticeInline,)
    change_form_template = "django_inngest_realtime/admin/confirmation_change_form.html"
    audit_fields = (
        "token",
        "status",
        "title",
        "message",
        "channel",
        "topic",
        "fn_id",
        "run_id",
        "step_id",
        "event_name",
        "requested_at",
        "expires_at",
        "decided_at",
        "decided_by",
        "response_data",
        "response_schema",
        "options",
        "multiple",
        "chosen",
        "default_outcome",
        "default_options",
    )
    fields = (*audit_fields, "assignees", "assignee_groups")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Confirmation | None = None
    ) -> tuple[str, ...]:
        if obj is not None and obj.status != Confirmation.Status.PENDING:
            return self.fields
        return self.audit_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Inngest functions create confirmations.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        notify_assignees(form.instance)  # assignees added here are notified too

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(PERMISSION))

    def _decide_many(
        self, request: HttpRequest, queryset: QuerySet[Confirmation], button: str, done: str
    ) -> None:
        count = 0
        for confirmation in queryset:
            try:
                BUTTONS[button](confirmation, request.user, None, [])
            except InvalidChoice as exc:
                self.message_user(
                    request, f"{confirmation}: {exc} Open it to choose.", messages.ERROR
                )
            except InvalidResponse as exc:
                self.message_user(
                    request,
                    f"{confirmation}: {exc} Open it to send response data.",
                    messages.ERROR,
                )
            except ConfirmationError as exc:
                self.message_user(request, f"{confirmation}: {exc}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done} {count} confirmation(s).", messages.SUCCESS)

    @admin.action(description=_("Approve selected confirmations"), permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Confirmation]) -> None:
        self._decide_many(request, queryset, "_approve", "Approved")

    @admin.action(description=_("Reject selected confirmations"), permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Confirmation]) -> None:
        self._decide_many(request, queryset, "_reject", "Rejected")

    @admin.action(description=_("Cancel selected confirmations"), permissions=["decide"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Confirmation]) -> None:
        self._decide_many(request, queryset, "_cancel", "Cancelled")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        button = next((b for b in BUTTONS if b in request.POST), None)
        if request.method == "POST" and object_id is not None and button is not None:
            return self._decide_from_page(request, object_id, button)
        extra = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if obj is not None:
            extra["confirmation_can_decide"] = obj.is_pending and can_decide(request.user, obj)
            extra["response_form"] = ResponseForm(confirmation=obj, prefix="_decision")
        return super().changeform_view(request, object_id, form_url, extra)

    def _decide_from_page(self, request: HttpRequest, object_id: str, button: str) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No confirmation with id {object_id!r}.")
        if not self.has_view_or_change_permission(request, obj):
            raise DjangoPermissionDenied
        form = ResponseForm(request.POST, confirmation=obj, prefix="_decision")
        if not form.is_valid():
            errors = "; ".join(str(e) for e in form.errors.get("response", []))
            self.message_user(request, f"Response data: {errors}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        # An option's button (single choice) or the ticked checkboxes (several).
        chosen = request.POST.getlist("_choose") or request.POST.getlist("_chosen")
        try:
            decision = BUTTONS[button](obj, request.user, form.cleaned_data["response"], chosen)
        except ConfirmationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Confirmation {decision.summary}.", messages.SUCCESS)
        return HttpResponseRedirect(request.path)


@admin.register(ConfirmationReply)
class ConfirmationReplyAdmin(ReplyAdminBase):
    list_display = ("event_id", "name", "attempts", "delivered_at", "next_attempt_at", "last_error")
    list_filter = (("delivered_at", admin.EmptyFieldListFilter), "name")
    search_fields = ("=event_id", "name")
    readonly_fields = (
        "event_id",
        "name",
        "data",
        "confirmation",
        "created_at",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

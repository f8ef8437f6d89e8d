"""The confirmation page (works without JavaScript) and the JSON API to decide."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from django_inngest_realtime import jsonbody
from django_inngest_realtime.confirmations.errors import (
    AlreadyDecided,
    ConfirmationError,
    Expired,
    InvalidChoice,
    InvalidResponse,
    PermissionDenied,
)
from django_inngest_realtime.confirmations.service import (
    can_decide,
    cancel,
    decide,
    get_confirmation,
    is_assignee,
)
from django_inngest_realtime.confirmations.state import Decision, decision_of, username
from django_inngest_realtime.forms import ResponseForm
from django_inngest_realtime.models import Confirmation

TEMPLATE = "django_inngest_realtime/confirmations/detail.html"
ACTIONS = ("approve", "reject", "cancel")


def can_view(user: Any, confirmation: Confirmation) -> bool:
    """True if ``user`` may see the confirmation's page."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        user.has_perm("django_inngest_realtime.view_confirmation")
        or can_decide(user, confirmation)
        or is_assignee(user, confirmation)
    )


def _get(token: object) -> Confirmation:
    try:
        return get_confirmation(token)
    except Confirmation.DoesNotExist as exc:
        raise Http404(str(exc)) from None


def _apply(
    confirmation: Confirmation, action: str, user: Any, data: Any, chosen: Any = None
) -> Decision:
    if action == "cancel":
        return cancel(confirmation.token, user=user)
    return decide(
        confirmation.token, approved=action == "approve", user=user, data=data, chosen=chosen
    )


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, token: object) -> HttpResponse:
    """Show the prompt and its status; a pending one gets approve / reject buttons (or a
    button per option, or checkboxes when several may be chosen)."""
    confirmation = _get(token)
    if not can_view(request.user, confirmation):
        raise DjangoPermissionDenied("You may not see this confirmation.")
    form = ResponseForm(request.POST or None, confirmation=confirmation)
    status = 200
    if request.method == "POST":
        chosen = request.POST.getlist("choice")
        # An option's button is named "choice": choosing it approves with that option.
        action = request.POST.get("decision", "approve" if chosen else "")
        if action not in ACTIONS:
            messages.error(request, "Choose approve, reject or cancel.", fail_silently=True)
        elif form.is_valid():
            response = form.cleaned_data["response"]
            try:
                decision = _apply(confirmation, action, request.user, response, chosen)
            except InvalidChoice as exc:
                form.add_error(None, str(exc))
            except InvalidResponse as exc:
                form.add_error("response", str(exc))
            except ConfirmationError as exc:
                messages.error(request, str(exc), fail_silently=True)
                return HttpResponseRedirect(request.path)
            else:
                messages.success(request, f"Confirmation {decision.summary}.", fail_silently=True)
                return HttpResponseRedirect(request.path)
        status = 400
    outcome = decision_of(confirmation)
    context = {
        "confirmation": confirmation,
        "decided_by": username(confirmation),
        "chosen": outcome.chosen if outcome else [],
        "can_decide": confirmation.is_pending and can_decide(request.user, confirmation),
        "form": form,
    }
    return render(request, TEMPLATE, context, status=status)


def _error(code: int, exc: Exception, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": str(exc), **extra}, status=code)


@require_POST
def decide_api(request: HttpRequest, token: object) -> JsonResponse:
    """``POST {"approved": true|false, "data": ..., "chosen": [...]}`` (or
    ``{"action": "cancel"}``); ``{"chosen": [...]}`` alone approves with those options."""
    try:
        confirmation = get_confirmation(token)
    except Confirmation.DoesNotExist as exc:
        return _error(404, exc)
    try:
        body = jsonbody.loads(request.body or b"{}")
    except ValueError as exc:
        return _error(400, ValueError(f"The request body is not usable: {exc}"))
    if not isinstance(body, dict):
        return JsonResponse({"error": "The request body must be a JSON object."}, status=400)
    action = body.get("action")
    if action is None and isinstance(body.get("approved"), bool):
        action = "approve" if body["approved"] else "reject"
    elif action is None and "approved" not in body and body.get("chosen") is not None:
        action = "approve"
    if action not in ACTIONS:
        return JsonResponse(
            {
                "error": 'Send {"approved": true} or {"approved": false} (or "action": "cancel"), '
                'or {"chosen": ["<option>"]}.'
            },
            status=400,
        )
    try:
        decision = _apply(confirmation, action, request.user, body.get("data"), body.get("chosen"))
    except PermissionDenied as exc:
        return _error(403, exc)
    except Expired as exc:
        return _error(410, exc, status="expired", expires_at=exc.expires_at.isoformat())
    except AlreadyDecided as exc:
        at = exc.decided_at.isoformat() if exc.decided_at else None
        return _error(409, exc, status=exc.status, decided_by=exc.decided_by, decided_at=at)
    except InvalidResponse as exc:
        return _error(400, exc, errors=exc.errors)
    return JsonResponse(decision.to_dict())

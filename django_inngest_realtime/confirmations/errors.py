"""Errors raised when deciding a confirmation."""

from __future__ import annotations

import datetime
from typing import Any

from django.core import exceptions


class ConfirmationError(Exception):
    """Base class of the errors a decision can raise."""


class AlreadyDecided(ConfirmationError):
    """Someone decided this confirmation first (or it was cancelled)."""

    def __init__(
        self,
        token: str,
        status: str,
        decided_by: str | None,
        decided_at: datetime.datetime | None,
    ) -> None:
        self.token = token
        self.status = status
        self.decided_by = decided_by
        self.decided_at = decided_at
        who = f" by {decided_by}" if decided_by else ""
        when = f" at {decided_at.isoformat()}" if decided_at else ""
        super().__init__(f"Confirmation {token} was already {status}{who}{when}.")


class Expired(ConfirmationError):
    """The confirmation's time ran out before this decision."""

    def __init__(self, token: str, expires_at: datetime.datetime) -> None:
        self.token = token
        self.expires_at = expires_at
        super().__init__(
            f"Confirmation {token} expired at {expires_at.isoformat()}; "
            "it can no longer be decided."
        )


class PermissionDenied(exceptions.PermissionDenied, ConfirmationError):
    """The user may not decide this confirmation."""


class InvalidResponse(ConfirmationError, ValueError):
    """The response data does not match the confirmation's schema."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        self.errors = errors or []
        super().__init__(message)


class InvalidChoice(InvalidResponse):
    """The chosen options are not among the confirmation's options (or too many are)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [{"loc": ["chosen"], "msg": message, "type": "invalid_choice"}])

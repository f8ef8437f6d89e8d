"""Forms: the optional response data sent with a decision."""

from __future__ import annotations

from typing import Any

import pydantic
from django import forms
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from django_inngest_realtime import jsonbody
from django_inngest_realtime.models import Confirmation


def schema_fields(confirmation: Confirmation) -> list[tuple[str, str, bool]]:
    """``(name, type, required)`` of each field of the confirmation's response schema."""
    if not confirmation.response_schema:
        return []
    try:
        schema = import_string(confirmation.response_schema)
    except ImportError:
        return []
    if not (isinstance(schema, type) and issubclass(schema, pydantic.BaseModel)):
        return []
    return [
        (name, getattr(field.annotation, "__name__", str(field.annotation)), field.is_required())
        for name, field in schema.model_fields.items()
    ]


class ClientJSONField(forms.JSONField):
    """A ``JSONField`` that refuses deeply nested input with a form error, not a 500."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        try:
            return jsonbody.loads(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class ResponseForm(forms.Form):
    """Response data as JSON; ``decide()`` validates it against the confirmation's schema."""

    response = ClientJSONField(
        label=_("Response data (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )

    def __init__(self, *args: Any, confirmation: Confirmation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.confirmation = confirmation
        fields = schema_fields(confirmation)
        if fields:
            listed = ", ".join(
                f"{name} ({kind}{', required' if required else ''})"
                for name, kind, required in fields
            )
            self.fields["response"].help_text = _("A JSON object with: %(fields)s.") % {
                "fields": listed
            }

    @property
    def has_schema(self) -> bool:
        """True when the confirmation declares a response schema."""
        return bool(self.confirmation.response_schema)

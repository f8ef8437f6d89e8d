"""Named options a confirmation offers (Airflow's ``options`` / ``multiple``): checked when
the function asks, and again when a person picks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django_inngest_realtime.confirmations.errors import InvalidChoice
from django_inngest_realtime.models import Confirmation

#: Most options one confirmation may offer, and the longest option name.
MAX_OPTIONS = 50
MAX_OPTION_LENGTH = 200

Outcome = Confirmation.Outcome


def check_options(options: Sequence[str], multiple: bool) -> list[str]:
    """``request_confirmation``'s ``options``, checked: distinct, non-empty names."""
    if isinstance(options, str):
        raise TypeError(f"options takes a list of option names, not the string {options!r}.")
    names = list(options)
    if not isinstance(multiple, bool):
        raise TypeError(f"multiple takes True or False, not {multiple!r}.")
    if multiple and not names:
        raise ValueError("multiple=True needs options to pick from.")
    if len(names) > MAX_OPTIONS:
        raise ValueError(f"A confirmation offers at most {MAX_OPTIONS} options, not {len(names)}.")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"Each option is a non-empty string; got {name!r}.")
        if len(name) > MAX_OPTION_LENGTH:
            raise ValueError(f"Option {name[:40]!r}... is longer than {MAX_OPTION_LENGTH}.")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Options must be distinct; repeated: {', '.join(duplicates)}.")
    return names


def check_default(default: Any, options: list[str], multiple: bool) -> tuple[str, list[str]]:
    """``default`` as ``(default_outcome, default_options)``; a bad one raises, naming why."""
    if default is None:
        return Outcome.NONE, []
    if default is False:
        return Outcome.REJECT, []
    if default is True:
        if options:
            raise ValueError(
                "default=True approves without a choice, but this confirmation offers options: "
                f"name the option(s) to pick on timeout, one of {', '.join(options)}."
            )
        return Outcome.APPROVE, []
    if not options:
        raise TypeError(
            "default takes True (approve), False (reject) or None; option names need options."
        )
    picked = [default] if isinstance(default, str) else default
    if not isinstance(picked, list | tuple) or not picked:
        raise TypeError(f"default takes an option name or a list of them, not {default!r}.")
    return Outcome.CHOOSE, pick(options, multiple, picked, error=ValueError)


def pick(
    options: list[str],
    multiple: bool,
    chosen: Sequence[Any],
    *,
    error: type[Exception] = InvalidChoice,
) -> list[str]:
    """``chosen`` checked against ``options``, in the options' order; else ``error``."""
    unknown = [c for c in chosen if not isinstance(c, str) or c not in options]
    if unknown:
        raise error(
            f"Unknown option(s) {', '.join(map(repr, unknown))}: choose from "
            f"{', '.join(map(repr, options))}."
        )
    picked = [o for o in options if o in chosen]
    if not picked:
        raise error(f"Choose one of: {', '.join(map(repr, options))}.")
    if len(picked) > 1 and not multiple:
        raise error(f"Choose only one option, not {len(picked)}: {', '.join(picked)}.")
    return picked


def validate_chosen(
    confirmation: Confirmation, chosen: Any, *, approving: bool
) -> list[str] | None:
    """What ``decide()`` stores as ``chosen``: the picked options, or ``None`` without options."""
    given: list[Any] = []
    if chosen is not None:
        if isinstance(chosen, str):
            given = [chosen]
        elif isinstance(chosen, list | tuple):
            given = list(chosen)
        else:
            raise InvalidChoice(f"chosen takes a list of option names, not {chosen!r}.")
    options = list(confirmation.options or [])
    if not options:
        if given:
            raise InvalidChoice(f"Confirmation {confirmation.token} offers no options to choose.")
        return None
    if not approving:
        if given:
            raise InvalidChoice("A rejection chooses no option; approve with the chosen option.")
        return None
    return pick(options, confirmation.multiple, given)

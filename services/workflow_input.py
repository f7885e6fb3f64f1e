"""Reading the untrusted fields of workflow forms and API bodies: text, dates, choices, ids, one sentence each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import InvalidInput

MAX_TEXT = 4000
MAX_ID = 2**31 - 1


def text_field(data: Mapping[str, Any], key: str, *, label: str, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    """A trimmed text field (None when empty and optional); too long, not text or with a NUL byte: InvalidInput."""
    raw = data.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput(f"Write the {label}: it cannot be empty.")
        return None
    if not isinstance(raw, str) or "\x00" in raw:
        raise InvalidInput(f"The {label} must be plain text.")
    value = raw.strip()
    if len(value) > limit:
        raise InvalidInput(f"The {label} is too long: at most {limit:,} characters.")
    return value


def date_field(data: Mapping[str, Any], key: str, *, label: str, required: bool = True) -> dt.date | None:
    """An ISO date (``2026-03-02``) field; None when empty and optional."""
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"Give the {label} as a date such as 2026-03-02.")
        return None
    if not isinstance(raw, str):
        raise InvalidInput(f"The {label} must be a date such as 2026-03-02.")
    try:
        value = dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise InvalidInput(f"The {label} must be a date such as 2026-03-02, not {raw[:20]!r}.") from None
    if not 2000 <= value.year <= 2100:
        raise InvalidInput(f"The {label} must be between the years 2000 and 2100.")
    return value


def choice_field(data: Mapping[str, Any], key: str, choices: Iterable[str], *, label: str,
                 required: bool = True) -> str | None:
    """One of ``choices`` (exactly as listed); None when empty and optional."""
    options = list(choices)
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"Choose the {label}: one of {', '.join(options)}.")
        return None
    if raw not in options:
        raise InvalidInput(f"Unknown {label} {str(raw)[:40]!r}: choose one of {', '.join(options)}.")
    return str(raw)


def id_field(data: Mapping[str, Any], key: str, *, label: str) -> int:
    """A positive whole-number id (a JSON number or its digits as text)."""
    raw = data.get(key)
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(f"Choose the {label}.")
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"The {label} must be a user id such as 12, not {text[:20]!r}.")
    return int(text)


def check_keys(data: Any, allowed: Iterable[str]) -> Mapping[str, Any]:
    """``data`` when it is an object with only ``allowed`` keys; else InvalidInput naming the first unknown key."""
    if not isinstance(data, Mapping):
        raise InvalidInput("The request body must be a JSON object.")
    known = set(allowed)
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0][:40]!r}: use {', '.join(sorted(known))}.")
    return data

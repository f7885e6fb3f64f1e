"""The at-risk list's address: where "Back to the at-risk list" on a profile goes, validated (never trusted)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

LIST_PATH = "/at-risk"
FILTER_KEYS = ("school", "grade", "class", "from", "to", "study", "att")  # services.filters' parameters
LIST_KEYS = ("tier", "ind", "rose", "support", "sort", "dir", "page")  # the list's own, after the filters
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9 ._\-]{1,40}$")


def back_href(raw: Any) -> str:
    """The list address a ``back`` parameter names when it is one (same site, known keys, plain values), else the list.

    The list page validates every value again when it is opened; this only keeps the link on this site and page.
    """
    parts = urlsplit(str(raw or "")[:600])
    if parts.scheme or parts.netloc or parts.path != LIST_PATH or parts.fragment:
        return LIST_PATH
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k in FILTER_KEYS + LIST_KEYS and _SAFE_VALUE.match(v)]
    return LIST_PATH + ("?" + urlencode(kept) if kept else "")

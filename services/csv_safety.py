"""CSV cells a spreadsheet will not run as formulas (CSV injection), for every export.

A ``'`` makes a spreadsheet show what follows as text. A text cell that starts with one of ``= + - @`` (or a
tab or carriage return, which some spreadsheets skip before a formula) gets one in front; and wherever a ``;``
or ``,`` (spaces allowed after it) is followed by one of ``= + - @``, a ``'`` goes before that character too,
because a spreadsheet that splits cells on that separator (``;`` in many European locales) would otherwise
run the part after it: ``Eve;=1+1`` becomes ``Eve;'=1+1``. Numbers and other non-text values pass unchanged.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_AFTER_SEPARATOR = re.compile(r"([;,]\s*)([=+\-@])")


def is_dangerous(text: str) -> bool:
    """True when ``text`` could be run as a formula by a spreadsheet (see the module docstring)."""
    return text.startswith(FORMULA_STARTS) or _AFTER_SEPARATOR.search(text) is not None


def neutralise(value: Any) -> Any:
    """``value`` with a ``'`` before every formula a spreadsheet could run (see the module docstring); non-text unchanged."""
    if not isinstance(value, str) or not is_dangerous(value):
        return value
    text = _AFTER_SEPARATOR.sub(lambda m: f"{m.group(1)}'{m.group(2)}", value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text

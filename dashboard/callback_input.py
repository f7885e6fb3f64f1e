"""The shape of a Dash callback request, checked before Dash sees it: a sentence and 400 instead of a traceback.

Nothing the browser sends is trusted. A body that is not what the Dash renderer posts (not an object, an
output no server callback has, inputs that are not ``{id, property, value}``), a NUL byte anywhere, a
number too large to be an id or a count, or a value of the wrong kind for a property the product reads
as text or as a count, is refused here with one sentence; the callbacks then only see values of the
kinds they were written for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard import ids

MAX_INT = 2**53  # beyond this no id, count or page is meaningful (and JavaScript loses precision)
MAX_DEPTH = 20
MAX_KEY_LENGTH = 4000
MAX_TEXT_LENGTH = 4000  # an address, a query string, a date: never longer
NUL = "A value in the request contains a NUL byte."
TOO_LARGE = "A number in the request is too large."
NOT_A_CALLBACK = "There is no such callback."
MALFORMED = "The callback request is malformed."

TEXT, COUNT, FLAG = "text", "a whole number", "true or false"
KINDS: dict[str, tuple[type, ...]] = {TEXT: (str,), COUNT: (int,), FLAG: (bool,)}
PROPERTY_KINDS: dict[str, str] = {
    "pathname": TEXT, "search": TEXT, "hash": TEXT, "href": TEXT, "start_date": TEXT, "end_date": TEXT,
    "n_clicks": COUNT, "n_intervals": COUNT, "page_current": COUNT, "is_open": FLAG,
}
"""Properties whose values the product reads as one kind, whichever component they belong to."""
STORE_KINDS: dict[tuple[str, str], str] = {(ids.FILTER_QUERY, "data"): TEXT, (ids.STUDENT_ID, "data"): TEXT,
                                           (ids.ADMIN_TICKET, "data"): TEXT, (ids.ADMIN_MAP_NAME, "value"): TEXT,
                                           (ids.ADMIN_MAP_BASE, "value"): TEXT, (ids.ADMIN_REJECTS_RUN, "value"): TEXT,
                                           (ids.ADMIN_MODEL_VERSION, "value"): TEXT, (ids.ADMIN_MODEL_TICKET, "data"): TEXT,
                                           (ids.RISK_INDICATOR, "value"): TEXT}
"""Stores that hold one kind of value (the canonical query string, the student id from the address)."""
WORKFLOW_TEXT = (ids.WF_INT_TYPE, ids.WF_INT_OWNER, ids.WF_INT_START, ids.WF_INT_REVIEW, ids.WF_INT_STATUS,
                 ids.WF_INT_OUTCOME, ids.WF_EDIT_WHICH, ids.WF_EDIT_STATUS, ids.WF_EDIT_REVIEW, ids.WF_EDIT_OUTCOME,
                 ids.WF_NOTE_KIND, ids.WF_NOTE_DATE, ids.WF_NOTE_BODY, ids.WF_NOTE_OUTCOME, ids.WF_FB_VERDICT,
                 ids.WF_FB_COMMENT, ids.SEARCH_INPUT, ids.RISK_WORKFLOW, ids.WF_NOTE_WHICH, ids.WF_NOTE_NEW)
STORE_KINDS |= {(component, "value"): TEXT for component in WORKFLOW_TEXT}  # the workflow forms: text only
STORE_KINDS |= {(ids.ALERTS_DIGEST, "value"): FLAG, (ids.WF_REFRESH, "data"): COUNT, (ids.ALERTS_LOAD, "data"): COUNT, (ids.CASELOAD_LOAD, "data"): COUNT}
STORE_KINDS.update({
    (ids.ADMIN_USERS_CREATED, "data"): COUNT, (ids.ADMIN_USERS_CHANGED, "data"): COUNT,
    (ids.ADMIN_NEW_EMAIL, "value"): TEXT, (ids.ADMIN_NEW_NAME, "value"): TEXT, (ids.ADMIN_NEW_ROLE, "value"): TEXT,
    (ids.ADMIN_EDIT_ROLE, "value"): TEXT, (ids.ADMIN_EDIT_USER, "value"): COUNT,
})
"""The users page: counters, the new user's email, name and role, the picked user's id and role."""
STORE_KINDS.update({(ids.AUDIT_USER, "value"): TEXT, (ids.AUDIT_ACTION, "value"): TEXT, (ids.AUDIT_STUDENT, "value"): TEXT})
"""The audit log page's search fields (its dates and page are checked by property)."""


class BadCallback(ValueError):
    """The callback request is refused; the message is the sentence for the client."""


def _check_scalar(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadCallback(NUL)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float) and not abs(value) <= MAX_INT:  # also catches NaN
        raise BadCallback(TOO_LARGE)


def check_value(value: Any, depth: int = 0) -> None:
    """Raise BadCallback for NUL bytes, non-finite or oversized numbers, or nesting deeper than ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        raise BadCallback(MALFORMED)
    if isinstance(value, list):
        for item in value:
            check_value(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(key, depth + 1)
            check_value(item, depth + 1)
    else:
        _check_scalar(value)


def _expected_kind(component_id: Any, prop: str) -> str | None:
    if isinstance(component_id, str) and (component_id, prop) in STORE_KINDS:
        return STORE_KINDS[(component_id, prop)]
    return PROPERTY_KINDS.get(prop)


def _check_kind(component_id: Any, prop: str, value: Any) -> None:
    kind = _expected_kind(component_id, prop)
    shown = f"{component_id if isinstance(component_id, str) else 'a pattern-matching component'}"[:60] + "." + prop[:40]
    if prop == "pathname" and not isinstance(value, str):
        raise BadCallback(f"{shown} must be a path starting with /.")  # a location always has one
    if kind is None or value is None:
        return
    wrong_bool = kind != FLAG and isinstance(value, bool)
    if wrong_bool or not isinstance(value, KINDS[kind]):
        raise BadCallback(f"{shown} must be {kind}.")
    if kind == TEXT and len(value) > MAX_TEXT_LENGTH:
        raise BadCallback(f"{shown} is too long.")
    if prop == "pathname" and not value.startswith("/"):
        raise BadCallback(f"{shown} must be a path starting with /.")


def _check_dependency(item: Any) -> None:
    if isinstance(item, list):  # pattern-matching ALL / ALLSMALLER: a list of dependencies
        for sub in item:
            if isinstance(sub, list):
                raise BadCallback(MALFORMED)
            _check_dependency(sub)
        return
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise BadCallback(MALFORMED)
    component_id = item.get("id")
    if not isinstance(component_id, (str, dict)):
        raise BadCallback(MALFORMED)
    check_value(component_id)
    check_value(item["property"])
    check_value(item.get("value"))
    _check_kind(component_id, item["property"], item.get("value"))


def _list_of(body: Mapping[str, Any], key: str, required: bool) -> list[Any]:
    value = body.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise BadCallback(MALFORMED)
    return value


def check_callback_body(body: Any, server_callbacks: Mapping[str, Any]) -> None:
    """Raise BadCallback unless ``body`` is a well-formed request for one of ``server_callbacks`` (Dash's callback map)."""
    if not isinstance(body, dict):
        raise BadCallback("The callback request must be a JSON object.")
    output = body.get("output")
    if not isinstance(output, str) or len(output) > MAX_KEY_LENGTH:
        raise BadCallback(MALFORMED)
    spec = server_callbacks.get(output)
    if not isinstance(spec, Mapping) or "callback" not in spec:
        raise BadCallback(NOT_A_CALLBACK)  # unknown, or a clientside callback: nothing runs on the server
    outputs = body.get("outputs")
    if not isinstance(outputs, (dict, list)):
        raise BadCallback(MALFORMED)
    check_value(outputs)
    for key, required in (("inputs", True), ("state", False)):
        for item in _list_of(body, key, required):
            _check_dependency(item)
    changed = _list_of(body, "changedPropIds", False)
    if not all(isinstance(c, str) for c in changed):
        raise BadCallback(MALFORMED)
    check_value(changed)

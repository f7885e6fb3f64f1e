"""The API's query and answer shapes as pydantic models: they validate queries and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.json_schema import SkipJsonSchema

from core.errors import InvalidInput
from services.alerts import KEY as ALERT_KEY_RE
from services.at_risk import MAX_LIMIT, SORT_KEYS, TIERS
from services.feedback import FEEDBACK_VERDICTS
from services.interventions import INTERVENTION_STATUSES
from services.notes import NOTE_KINDS
from services.students import MAX_PER_PAGE
from services.workflow_input import MAX_TEXT

Q = TypeVar("Q", bound=BaseModel)
MAX_ID = 2**31 - 1
SortKey = Literal[SORT_KEYS]  # type: ignore[valid-type]
Tier = Literal[TIERS]  # type: ignore[valid-type]
InterventionStatus = Literal[INTERVENTION_STATUSES]  # type: ignore[valid-type]
NoteKind = Literal[NOTE_KINDS]  # type: ignore[valid-type]
Verdict = Literal[FEEDBACK_VERDICTS]  # type: ignore[valid-type]
ALERT_KEY = ALERT_KEY_RE.pattern
MAX_COMMENT = 1000  # the feedback sentence's limit in services.feedback


class Query(BaseModel):
    """A query string: unknown keys are ignored, names are the URL's (``class``, ``from``...)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class FilterQuery(Query):
    """The filter bar's keys, as in the dashboard's URLs."""

    school: int | None = Field(None, ge=1, le=MAX_ID, description="Only this school (id).")
    grade: int | None = Field(None, ge=1, le=13, description="Only this grade level.")
    class_: int | None = Field(None, alias="class", ge=1, le=MAX_ID, description="Only this class (id).")
    from_: dt.date | None = Field(None, alias="from", description="Weeks from this date (YYYY-MM-DD).")
    to: dt.date | None = Field(None, description="Weeks up to this date (YYYY-MM-DD).")
    study: str | None = Field(None, max_length=40, description="A study-hours band as the rules name it, e.g. 3-6.")
    att: float | None = Field(None, ge=0, le=100, description="Minimum mean attendance, in percent.")


class StudentsQuery(Query):
    """Paging of the students list."""

    page: int = Field(1, ge=1, le=MAX_ID, description="Page number, from 1.")
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE, description="Rows per page.")
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this class (still within your scope).")


class RiskQuery(FilterQuery):
    """The at-risk list's keys: the filters, tier, 'rose since last run', order and page."""

    tier: Tier | None = Field(None, description="Only this tier.")  # type: ignore[valid-type]
    rose: bool = Field(False, description="Only students whose risk rose since the model's previous run.")
    sort: SortKey = Field("probability", description="Sort key.")  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = Field("desc", description="Sort direction.")
    limit: int = Field(25, ge=1, le=MAX_LIMIT, description="Rows per page.")
    offset: int | None = Field(None, ge=0, le=MAX_ID, description="Rows to skip (instead of page).")
    page: int | None = Field(None, ge=1, le=MAX_ID, description="Page number, from 1 (instead of offset).")

    def start(self) -> int:
        """The offset of the first row asked for (``page`` wins over ``offset``)."""
        if self.page is not None:
            return (self.page - 1) * self.limit
        return self.offset or 0


WORDS = {
    "int_parsing": "{name} must be a whole number, not {raw!r}.",
    "int_from_float": "{name} must be a whole number, not {raw!r}.",
    "float_parsing": "{name} must be a number, not {raw!r}.",
    "bool_parsing": "{name} must be 1 or 0, not {raw!r}.",
    "date_from_datetime_parsing": "{name} must be a date like 2025-09-01, not {raw!r}.",
    "date_parsing": "{name} must be a date like 2025-09-01, not {raw!r}.",
    "greater_than_equal": "{name} must be at least {ge}, not {raw}.",
    "less_than_equal": "{name} must be at most {le}, not {raw}.",
    "literal_error": "{name} must be one of {expected}, not {raw!r}.",
    "string_too_long": "{name} must be at most {max_length} characters long.",
}


def _sentence(error: dict[str, Any]) -> str:
    name = ".".join(str(part) for part in error.get("loc", ())) or "the query"
    raw = str(error.get("input", ""))[:40]
    template = WORDS.get(error.get("type", ""), "{name} is not valid: {raw!r}.")
    try:
        return template.format(name=name, raw=raw, **error.get("ctx", {}))
    except (KeyError, IndexError):
        return f"{name} is not valid: {raw!r}."


def parse_query(model: type[Q]) -> Q:
    """The request's query string as ``model``, or ``InvalidInput`` with a sentence naming the bad parameter."""
    values = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(_sentence(exc.errors(include_url=False)[0])) from None


# --------------------------------------------------------------------------- answers (documentation and tests)


class Answer(BaseModel):
    """An answer object: more keys may be added later."""

    model_config = ConfigDict(extra="allow")


class Problem(Answer):
    """An error (RFC 9457 problem details) with one sentence in ``detail``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class Page(Answer):
    """Paging of a list: the number of matching rows, the page asked for and the address of the next one."""

    total: int
    limit: int
    offset: int
    page: int
    pages: int
    next: str | None = Field(None, description="The next page's address, or null on the last page.")


class Student(Answer):
    """One student's summary line."""

    id: int
    source_id: str
    name: str | None = None
    class_id: int | None = None
    class_name: str | None = None
    grade_level: int | None = None


class StudentList(Page):
    """A page of students."""

    items: list[Student]
    per_page: int


class RiskItem(Answer):
    """One scored student: stored probability, interval, tier, reasons and change since the previous run."""

    student_id: int
    source_id: str
    name: str | None = None
    probability: float
    low: float | None = None
    high: float | None = None
    risk: str
    change: str
    tier: str
    reasons: list[str]
    as_of: str


class RiskList(Page):
    """A page of the at-risk list, with the count per tier and the scoring run it shows."""

    items: list[RiskItem]
    tier_counts: dict[str, int]
    model_version: str
    as_of: str


class StudentRisk(Answer):
    """One student's stored risk in the latest run (null with a note when there is none)."""

    student_id: int
    risk: RiskItem | None = None
    note: str | None = None


class Explanation(Answer):
    """One student's stored risk and the reasons behind it, in words."""

    student_id: int
    model_version: str
    as_of: str
    probability: float
    tier: str
    risk: str
    reasons: list[dict[str, Any]]


class RiskPoint(Answer):
    """One scoring run's stored risk of the student."""

    run_id: int
    as_of: str
    scored_at: str
    probability: float
    low: float | None = None
    high: float | None = None
    tier: str
    risk: str


class RiskHistory(Answer):
    """A student's risk in every kept run of the active model, oldest first."""

    student_id: int
    points: list[RiskPoint]
    first_high: str | None = None
    sentence: str


class Kpis(Answer):
    """Headline numbers of the filtered scope (shares as fractions 0-1, null when undefined)."""

    n_students: int
    mean_score: float | None = None
    median_score: float | None = None
    pass_rate: float | None = None
    pass_threshold: float
    mean_attendance: float | None = None
    chronic_share: float | None = None
    at_risk_share: float | None = None
    n_scored: int
    risk_note: str | None = None
    filters: dict[str, Any]


class Me(Answer):
    """Who the session or token belongs to."""

    id: int
    email: str
    role: str
    class_ids: list[int]


class IngestForm(BaseModel):
    """A file to load (multipart/form-data), in the format of docs/EXPORT_FORMAT.md."""

    file: bytes = Field(description="The CSV export.", json_schema_extra={"format": "binary"})
    school: str | None = Field(None, max_length=200, description="School of rows without a school column.")
    force: bool = Field(False, description="Load even if the same bytes were loaded before.")


class IngestReport(Answer):
    """The run report of one load."""

    run_id: int | None = None
    file_name: str
    status: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_rejected: int
    rows_duplicate: int
    message: str
    scoring: dict[str, Any] | None = Field(None, description="Students scored per tier after the load, or a note.")


# --------------------------------------------------------------------------- workflow (bodies are checked by the services)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**kwargs: Any) -> Any:
    """A key that may be left out (not null): ``Field(None)`` without ``default: null`` in the document."""
    return Field(None, json_schema_extra=_no_default, **kwargs)


class Body(BaseModel):
    """A JSON body as the document describes it: the service reads it and answers 400 with a sentence if it is wrong."""


class Fields(Body):
    """A JSON body whose unknown keys are refused (400 naming the first one)."""

    model_config = ConfigDict(extra="forbid")


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Kind = Annotated[str, Field(max_length=200)]
AlertKey = Annotated[str, StringConstraints(pattern=ALERT_KEY)]


class InterventionNew(Fields):
    """A new intervention for the student."""

    type: Kind = Field(description="One of the configured kinds (``types`` of the list), e.g. tutoring.")
    owner_id: Id = Field(description="Who owns it: a user who can see the student (digits as text are accepted too).")
    start_date: dt.date | SkipJsonSchema[None] = optional(description="When it starts (default today).")
    next_review: dt.date | None = optional(description="When to review it (not before the start date).")
    status: InterventionStatus | SkipJsonSchema[None] = optional(  # type: ignore[valid-type]
        description="Its status (default planned).")
    outcome: Text | None = optional(description="What came of it, in words.")


class InterventionChanges(Fields):
    """Some fields of an intervention to change (at least one)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    type: Kind | SkipJsonSchema[None] = optional(description="One of the configured kinds.")
    owner_id: Id | SkipJsonSchema[None] = optional(description="A user who can see the student.")
    start_date: dt.date | SkipJsonSchema[None] = optional(description="When it started.")
    next_review: dt.date | None = optional(description="When to review it (null: no review date).")
    status: InterventionStatus | SkipJsonSchema[None] = optional(description="Its status.")  # type: ignore[valid-type]
    outcome: Text | None = optional(description="What came of it (null: none).")


class NoteNew(Fields):
    """A new case note or contact."""

    body: Text = Field(min_length=1, description="What happened, in words.")
    kind: NoteKind | SkipJsonSchema[None] = optional(description="Its kind (default note).")  # type: ignore[valid-type]
    occurred_on: dt.date | SkipJsonSchema[None] = optional(description="When (default today).")
    outcome: Text | None = optional(description="What came of it.")


class NoteChanges(Fields):
    """Some fields of a note to change."""

    body: Annotated[Text, Field(min_length=1)] | SkipJsonSchema[None] = optional(description="The new text.")
    kind: NoteKind | SkipJsonSchema[None] = optional(description="Its kind.")  # type: ignore[valid-type]
    occurred_on: dt.date | SkipJsonSchema[None] = optional(description="When it happened.")
    outcome: Text | None = optional(description="What came of it (null: none).")


class FeedbackNew(Fields):
    """Feedback on the student's latest flag (Moderate or High in the latest scoring run)."""

    verdict: Verdict = Field(description="What is wrong with the flag.")  # type: ignore[valid-type]
    comment: str = Field(min_length=1, max_length=MAX_COMMENT, description="One sentence explaining it.")


class StarBody(Body):
    """Star or unstar a student."""

    starred: bool = Field(description="true: star (the student joins my caseload); false: unstar.")


class AlertsRead(Body):
    """Which of my alerts to mark read: ``keys`` or ``all``."""

    keys: Annotated[list[AlertKey], Field(min_length=1)] | SkipJsonSchema[None] = optional(
        description="Keys of my alerts (a key that is not one of mine: 404).")
    all: bool | SkipJsonSchema[None] = optional(description="true: every alert of mine (then keys is ignored).")


class PreferencesBody(Body):
    """My preferences."""

    digest: bool = Field(description="Whether I get the weekly e-mail digest.")


class AlertsQuery(Query):
    """Which alerts to list."""

    unread: Annotated[str, Field(max_length=10)] | SkipJsonSchema[None] = optional(
        description="1 (or true, yes): only unread alerts; anything else: all of them.")


class Intervention(Answer):
    """One intervention, with its owner's name and whether its review is overdue."""

    id: int
    student_id: int
    type: str
    owner_id: int
    owner: str
    start_date: str
    next_review: str | None = None
    status: str
    outcome: str | None = None
    overdue: bool


class InterventionList(Answer):
    """A student's interventions, newest first, and the kinds a new one may have."""

    items: list[Intervention]
    types: list[str]


class Note(Answer):
    """One case note or contact, with its author's name."""

    id: int
    student_id: int
    kind: str
    body: str
    outcome: str | None = None
    occurred_on: str
    author_id: int | None = None
    author: str
    updated_at: str


class NoteList(Answer):
    """A student's notes and contacts, newest first."""

    items: list[Note]


class Feedback(Answer):
    """One piece of feedback on a flag, with the flag's tier and model version."""

    id: int
    student_id: int
    verdict: str
    comment: str
    tier: str
    model_version: str
    author: str
    created_at: str


class Star(Answer):
    """Whether the student is starred now."""

    student_id: int
    starred: bool


class CaseloadRow(Answer):
    """One student of my caseload: tier, next review, last note, and why it is mine (owned, starred)."""

    student_id: int
    source_id: str
    name: str | None = None
    class_name: str | None = None
    tier: str | None = None
    next_review: str | None = None
    last_note: str | None = None
    last_note_on: str | None = None
    owned: bool
    starred: bool


class Caseload(Answer):
    """My caseload and its size."""

    items: list[CaseloadRow]
    total: int


class Alert(Answer):
    """One alert: a student's risk rose or became High, or a review of mine is due."""

    key: str
    kind: str
    student_id: int
    student: str
    text: str
    on: str
    read: bool
    href: str


class Alerts(Answer):
    """My alerts and how many are unread."""

    items: list[Alert]
    unread: int


class Marked(Answer):
    """How many alerts were newly marked read."""

    marked: int


class Preferences(Answer):
    """My preferences now."""

    digest: bool

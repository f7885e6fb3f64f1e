"""Typed SQLAlchemy 2.x models: the product's whole schema.

Event tables hold one row per student per date; summary tables (``student_summary``,
``class_week_summary``) are refreshed by the ETL in the same transaction as each load and are
what the dashboards read instead of scanning every event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "school_admin", "staff", "teacher")


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB}


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# --------------------------------------------------------------------------- organisation


class School(Base):
    """A school; every class and student belongs to one."""

    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = _now()


class SchoolClass(Base):
    """A class (form/section) of one grade level in one school year."""

    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("school_id", "school_year", "name"),
        Index("ix_classes_school_grade", "school_id", "grade_level"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    grade_level: Mapped[int] = mapped_column(SmallInteger)
    school_year: Mapped[str] = mapped_column(String(9))  # e.g. "2025-2026"


class Student(Base):
    """A student; ``source_id`` is the school's own id, kept as text (``00123`` stays ``00123``)."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("school_id", "source_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    gender: Mapped[str] = mapped_column(Text, server_default="Unknown")
    age: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class Enrollment(Base):
    """A student's membership of a class in a school year."""

    __tablename__ = "enrollments"
    __table_args__ = (Index("ix_enrollments_class_id", "class_id"),)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9))


# --------------------------------------------------------------------------- events (one row per student per date)


class Attendance(Base):
    """Attendance rate of one student for the week starting ``date`` (fraction 0-1)."""

    __tablename__ = "attendance"
    __table_args__ = (CheckConstraint("rate >= 0 AND rate <= 1", name="rate_range"), Index("ix_attendance_date", "date"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rate: Mapped[float] = mapped_column(Double)
    imputed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id", ondelete="SET NULL"))


class StudyHours(Base):
    """Hours of study reported by one student for the week starting ``date``."""

    __tablename__ = "study_hours"
    __table_args__ = (CheckConstraint("hours >= 0 AND hours <= 80", name="hours_range"),)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hours: Mapped[float] = mapped_column(Double)
    imputed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id", ondelete="SET NULL"))


class ActivityParticipation(Base):
    """Whether a student took part in an activity (default: sports) in the week starting ``date``."""

    __tablename__ = "activity_participation"
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    activity: Mapped[str] = mapped_column(Text, primary_key=True, server_default="sports")
    participated: Mapped[bool] = mapped_column(Boolean)
    imputed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id", ondelete="SET NULL"))


class Assessment(Base):
    """An assessment of a school: a weekly running grade, a test or the final exam."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="weekly")  # weekly | test | final
    date: Mapped[dt.date] = mapped_column(Date)
    max_score: Mapped[float] = mapped_column(Double, server_default=text("100"))


class Score(Base):
    """One student's score (0-100) on one assessment; ``date`` is copied from the assessment."""

    __tablename__ = "scores"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        Index("ix_scores_student_date", "student_id", "date"),
        Index("ix_scores_date", "date"),
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Double)
    imputed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id", ondelete="SET NULL"))


# --------------------------------------------------------------------------- derived-value rules (configurable)


class DerivationRule(Base):
    """A configurable mapping used to derive labels.

    ``kind`` is one of ``study_bin`` (hours per week), ``sports_level`` (share of weeks with sports),
    ``performance`` (score), ``low_attendance`` (rate below ``upper`` is low). A value ``v`` gets
    ``label`` when ``lower <= v < upper`` (a null bound is open).
    """

    __tablename__ = "derivation_rules"
    __table_args__ = (UniqueConstraint("kind", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    lower: Mapped[float | None] = mapped_column(Double)
    upper: Mapped[float | None] = mapped_column(Double)
    ordinal: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


# --------------------------------------------------------------------------- summaries read by the dashboards


class StudentSummary(Base):
    """One row per student over all their data, refreshed by each load."""

    __tablename__ = "student_summary"
    __table_args__ = (
        Index("ix_student_summary_scope", "school_id", "grade_level", "class_id"),
        Index("ix_student_summary_class_id", "class_id"),
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"))
    grade_level: Mapped[int | None] = mapped_column(SmallInteger)
    school_year: Mapped[str | None] = mapped_column(String(9))
    gender: Mapped[str | None] = mapped_column(Text)
    age: Mapped[int | None] = mapped_column(SmallInteger)
    n_weeks: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    first_date: Mapped[dt.date | None] = mapped_column(Date)
    last_date: Mapped[dt.date | None] = mapped_column(Date)
    attendance_mean: Mapped[float | None] = mapped_column(Double)
    study_hours_mean: Mapped[float | None] = mapped_column(Double)
    sports_rate: Mapped[float | None] = mapped_column(Double)
    score_mean: Mapped[float | None] = mapped_column(Double)
    latest_score: Mapped[float | None] = mapped_column(Double)
    latest_score_date: Mapped[dt.date | None] = mapped_column(Date)
    study_bin: Mapped[str | None] = mapped_column(Text)
    sports_level: Mapped[str | None] = mapped_column(Text)
    performance_label: Mapped[str | None] = mapped_column(Text)
    low_attendance: Mapped[bool | None] = mapped_column(Boolean)
    chronically_absent: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = _now()


class ClassWeekSummary(Base):
    """Sums and counts per class and week, so trends over any set of classes add up exactly."""

    __tablename__ = "class_week_summary"
    __table_args__ = (Index("ix_class_week_summary_week", "week"),)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    n_students: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    attendance_sum: Mapped[float] = mapped_column(Double, server_default=text("0"))
    attendance_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    study_sum: Mapped[float] = mapped_column(Double, server_default=text("0"))
    study_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    score_sum: Mapped[float] = mapped_column(Double, server_default=text("0"))
    score_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sports_sum: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sports_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))


# --------------------------------------------------------------------------- operations


class IngestionRun(Base):
    """One attempt to load one file."""

    __tablename__ = "ingestion_runs"
    __table_args__ = (Index("ix_ingestion_runs_sha256", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text)  # running | succeeded | failed | skipped | dry_run
    rows_read: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_inserted: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_updated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_duplicate: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RejectedRow(Base):
    """A row of a file that failed validation, kept with its raw values and every reason."""

    __tablename__ = "rejected_rows"
    __table_args__ = (Index("ix_rejected_rows_run_id", "run_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingestion_runs.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(Text))


class ColumnMapping(Base):
    """A saved column mapping (see ``etl.mapping``): how a school's own file headers and scales become ours."""

    __tablename__ = "column_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(Text)  # "cli:<user>" or a user's email
    created_at: Mapped[dt.datetime] = _now()


class User(Base):
    """A person who can log in; teachers see only the classes in ``user_classes``."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'school_admin', 'staff', 'teacher')", name="role_valid"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = _now()
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    session_epoch: Mapped[int] = mapped_column(Integer, server_default=text("0"))  # bumped to end all sessions


class UserClass(Base):
    """A teacher's assignment to a class."""

    __tablename__ = "user_classes"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    """A personal API token (``Authorization: Bearer``): only its SHA-256 is kept; it acts as its user (0010)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text)  # the first characters, to tell tokens apart in lists
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """A login attempt, kept to throttle failures per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"), Index("ix_login_attempts_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = _now()


class AuditLog(Base):
    """Who did what, when: logins, logouts, profile views, exports, uploads, user changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_action", "action"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(Text)  # email as typed, also for failed logins
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    address: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- model registry and predictions


class ModelVersion(Base):
    """A trained risk model: one artifact on disk and its provenance here."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index("uq_model_versions_one_active", "is_active", unique=True, postgresql_where=text("is_active")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = _now()
    model_type: Mapped[str] = mapped_column(Text)
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    data_hash: Mapped[str] = mapped_column(Text)
    code_version: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    features: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    threshold: Mapped[float] = mapped_column(Double)
    artifact_path: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class ScoringRun(Base):
    """One `studentperf score` run of a model: the features' date, the tier cut-offs it used, how many it scored."""

    __tablename__ = "scoring_runs"
    __table_args__ = (
        CheckConstraint("0 <= low AND low <= high AND high <= 1", name="cutoffs_valid"),
        CheckConstraint("method IN ('cutoffs', 'interval')", name="method_valid"),
        Index("ix_scoring_runs_model_version_id", "model_version_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    as_of: Mapped[dt.date] = mapped_column(Date)
    high: Mapped[float] = mapped_column(Double)  # High at or above this probability
    low: Mapped[float] = mapped_column(Double)  # Low below this one; Moderate in between
    n_scored: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = _now()
    # How tiers were set: "cutoffs" (high/low on the probability) or "interval" (DEWS: the interval vs threshold).
    method: Mapped[str] = mapped_column(Text, server_default=text("'cutoffs'"))
    threshold: Mapped[float | None] = mapped_column(Double)


def _same_as_probability(context: Any) -> float:
    """The default of a prediction's interval bounds: the probability itself."""
    return context.get_current_parameters()["probability"]


class Prediction(Base):
    """A student's risk score in one scoring run (every run is kept): probability, its interval, and its tier."""

    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint("tier IN ('High', 'Moderate', 'Low')", name="tier_valid"),
        CheckConstraint("low <= probability AND probability <= high", name="interval_valid"),
        Index("ix_predictions_model_tier", "model_version_id", "tier"),
        Index("ix_predictions_student_run", "student_id", "scoring_run_id"),
    )
    scoring_run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    as_of: Mapped[dt.date] = mapped_column(Date)
    probability: Mapped[float] = mapped_column(Double)
    # The interval of the probability; an insert that gives none gets lo = hi = probability (no width).
    low: Mapped[float] = mapped_column(Double, default=_same_as_probability)
    high: Mapped[float] = mapped_column(Double, default=_same_as_probability)
    tier: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    scored_at: Mapped[dt.datetime] = _now()


# The at-risk list's default order within a run: its first page is the head of one index range (0017).
Index("ix_predictions_run_rank", Prediction.scoring_run_id, Prediction.probability.desc().nulls_last(), Prediction.student_id,
      postgresql_include=["model_version_id", "tier"])


DATA_TABLES = (
    "flag_feedback",
    "case_notes",
    "interventions",
    "student_stars",
    "student_indicators",
    "scores",
    "assessments",
    "activity_participation",
    "study_hours",
    "attendance",
    "predictions",
    "scoring_runs",
    "student_summary",
    "class_week_summary",
    "student_week_summary",
    "summary_calendar",
    "enrollments",
    "students",
)
"""Tables emptied by ``ingest --truncate``: students and their data. Schools and classes stay, so
teachers keep their class assignments; users, runs and the audit log stay too."""


# --------------------------------------------------------------------------- dashboard performance (0006)

TREND_COLUMNS = ("att_sum", "att_n", "score_sum", "score_n")
CUMULATIVE_COLUMNS = ("c_att_sum", "c_att_n", "c_study_sum", "c_study_n", "c_sports_sum", "c_sports_n", "c_score_sum",
                      "c_score_n", "latest_score")


class SummaryCalendar(Base):
    """Every date any event of any student falls on (a superset after rows move): the grid of ``student_week_summary``."""

    __tablename__ = "summary_calendar"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class StudentWeekSummary(Base):
    """One row per student per calendar date from the student's first event on: that date's sums and the running sums.

    The measures of a student over ``[a, b]`` are ``c_*(b') - c_*(a')`` where ``b'`` is the last calendar date
    ``<= b`` and ``a'`` the last one ``< a`` (no row: zero); ``latest_score`` is the latest score up to the
    row's date (by date, then assessment). Running sums of fractional values are ``numeric``, so range means
    are exact. No foreign key: rows are only read through ``student_summary`` (which cascades), and a check
    per row would double the refresh.
    """

    __tablename__ = "student_week_summary"
    __table_args__ = (
        # the day sums the weekly trends add up ride in the key: an index-only scan per matching student (0016)
        PrimaryKeyConstraint("student_id", "date", name="pk_student_week_summary", postgresql_include=list(TREND_COLUMNS)),
        Index("ix_student_week_summary_date", "date", "student_id", postgresql_include=list(CUMULATIVE_COLUMNS)),
    )
    student_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    att_sum: Mapped[float | None] = mapped_column(Double)
    att_n: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    study_sum: Mapped[float | None] = mapped_column(Double)
    study_n: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    sports_sum: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    sports_n: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    score_sum: Mapped[float | None] = mapped_column(Double)
    score_n: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    c_att_sum: Mapped[float | None] = mapped_column(Numeric(asdecimal=False))
    c_att_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    c_study_sum: Mapped[float | None] = mapped_column(Numeric(asdecimal=False))
    c_study_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    c_sports_sum: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    c_sports_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    c_score_sum: Mapped[float | None] = mapped_column(Numeric(asdecimal=False))
    c_score_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    latest_score: Mapped[float | None] = mapped_column(Double)
    prev_date: Mapped[dt.date | None] = mapped_column(Date)  # the student's previous date with events (0007)



# --- workflow (0013): interventions, case notes and contacts, flag feedback, stars, alert read-marks, digest ---

INTERVENTION_STATUSES = ("planned", "active", "completed", "stopped")
NOTE_KINDS = ("note", "parent call", "meeting", "letter")
FEEDBACK_VERDICTS = ("not at risk", "already supported", "data is wrong")


class InterventionType(Base):
    """A kind of intervention a school offers (configurable list: tutoring, mentoring, ...), in display order."""

    __tablename__ = "intervention_types"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    ordinal: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class Intervention(Base):
    """Help planned or given to one student: its type, owner, dates, status and outcome."""

    __tablename__ = "interventions"
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'active', 'completed', 'stopped')", name="status_valid"),
        Index("ix_interventions_student_id", "student_id"),
        Index("ix_interventions_owner_id", "owner_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(ForeignKey("intervention_types.name", onupdate="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    next_review: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class CaseNote(Base):
    """A dated case note or contact (parent call, meeting, letter) about a student; archived, never deleted."""

    __tablename__ = "case_notes"
    __table_args__ = (
        CheckConstraint("kind IN ('note', 'parent call', 'meeting', 'letter')", name="kind_valid"),
        Index("ix_case_notes_student_id", "student_id", "occurred_on"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class FlagFeedback(Base):
    """A teacher's view of a flag ("not at risk", ...), kept with the scoring run, model version and tier it judged."""

    __tablename__ = "flag_feedback"
    __table_args__ = (
        CheckConstraint("verdict IN ('not at risk', 'already supported', 'data is wrong')", name="verdict_valid"),
        Index("ix_flag_feedback_student_id", "student_id"),
        Index("ix_flag_feedback_model_version_id", "model_version_id", "tier"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scoring_run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class StudentStar(Base):
    """A student a user starred (they join the user's caseload)."""

    __tablename__ = "student_stars"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = _now()


class AlertRead(Base):
    """An alert a user marked read, by its stable key (alerts themselves are computed on read)."""

    __tablename__ = "alert_reads"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    read_at: Mapped[dt.datetime] = _now()


class UserPreference(Base):
    """A user's choices: whether they get the weekly digest, and when the last one was sent."""

    __tablename__ = "user_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
# --- indicators ---


class StudentIndicator(Base):
    """One row per student: the transparent early-warning indicators beside the model, refreshed with each load.

    Each flag has the value it was decided on: ``attendance`` (mean rate to date, 0-1), ``running_grade`` (the
    latest running grade) and ``grade_drop`` (points it fell over the last weeks; None with too little history),
    ``study_hours`` (mean hours a week). Thresholds come from ``derivation_rules`` (``db.indicators``).
    """

    __tablename__ = "student_indicators"
    __table_args__ = (Index("ix_student_indicators_flags", "chronic_absence", "course_performance", "low_study"),)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    attendance: Mapped[float | None] = mapped_column(Double)
    chronic_absence: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    running_grade: Mapped[float | None] = mapped_column(Double)
    grade_drop: Mapped[float | None] = mapped_column(Double)
    course_performance: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    study_hours: Mapped[float | None] = mapped_column(Double)
    low_study: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = _now()
# --- schools of users (0015) ---


class UserSchool(Base):
    """A user's school: school administrators and staff see (and administer) only their schools' data."""

    __tablename__ = "user_schools"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True, index=True)


class PasswordReset(Base):
    """A one-time password-reset link: only the SHA-256 of its token is kept; spent once used or expired."""

    __tablename__ = "password_resets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

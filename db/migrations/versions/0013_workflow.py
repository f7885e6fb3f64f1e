"""workflow: interventions (with a configurable list of types), case notes and contacts, flag feedback, stars,
alert read-marks and per-user digest preferences

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TYPES = ("tutoring", "mentoring", "attendance plan", "parent meeting", "counselling", "other")
NOW = sa.text("now()")


def _user_fk(name: str, nullable: bool = False, ondelete: str = "CASCADE") -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable)


def _student_fk() -> sa.Column:
    return sa.Column("student_id", sa.BigInteger(), sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False)


def _stamp(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=NOW, nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    types = op.create_table(
        "intervention_types",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("ordinal", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.bulk_insert(types, [{"name": name, "ordinal": i} for i, name in enumerate(TYPES)])
    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _student_fk(),
        sa.Column("type", sa.Text(), sa.ForeignKey("intervention_types.name", onupdate="CASCADE"), nullable=False),
        _user_fk("owner_id", ondelete="RESTRICT"),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        _user_fk("created_by", nullable=True, ondelete="SET NULL"),
        _stamp(),
        _stamp("updated_at"),
        sa.CheckConstraint("status IN ('planned', 'active', 'completed', 'stopped')", name=op.f("ck_interventions_status_valid")),
    )
    op.create_index("ix_interventions_student_id", "interventions", ["student_id"])
    op.create_index("ix_interventions_owner_id", "interventions", ["owner_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _student_fk(),
        _user_fk("author_id", nullable=True, ondelete="SET NULL"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        _stamp(),
        _stamp("updated_at"),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('note', 'parent call', 'meeting', 'letter')", name=op.f("ck_case_notes_kind_valid")),
    )
    op.create_index("ix_case_notes_student_id", "case_notes", ["student_id", "occurred_on"])
    op.create_table(
        "flag_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        _student_fk(),
        _user_fk("user_id", nullable=True, ondelete="SET NULL"),
        sa.Column("scoring_run_id", sa.Integer(), sa.ForeignKey("scoring_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_version_id", sa.Integer(), sa.ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _stamp(),
        sa.CheckConstraint("verdict IN ('not at risk', 'already supported', 'data is wrong')",
                           name=op.f("ck_flag_feedback_verdict_valid")),
    )
    op.create_index("ix_flag_feedback_student_id", "flag_feedback", ["student_id"])
    op.create_index("ix_flag_feedback_model_version_id", "flag_feedback", ["model_version_id", "tier"])
    op.create_table(
        "student_stars",
        _user_fk("user_id"),
        _student_fk(),
        _stamp(),
        sa.PrimaryKeyConstraint("user_id", "student_id", name=op.f("pk_student_stars")),
    )
    op.create_table(
        "alert_reads",
        _user_fk("user_id"),
        sa.Column("key", sa.Text(), nullable=False),
        _stamp("read_at"),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_alert_reads")),
    )
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("digest", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Revert this revision."""
    for table in ("user_preferences", "alert_reads", "student_stars", "flag_feedback", "case_notes", "interventions",
                  "intervention_types"):
        op.drop_table(table)

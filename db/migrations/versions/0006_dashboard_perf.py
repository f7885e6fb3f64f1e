"""dashboard performance: per-student cumulative sums on every data date, and the calendar of those dates

``student_week_summary`` holds, for each student and each date of ``summary_calendar`` from the
student's first event on, that date's sums and counts and the running (cumulative) ones, so the
measures of a student over any date range are two index-only look-ups: ``cum(b) - cum(a-)``.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CUMULATIVE = ("c_att_sum", "c_att_n", "c_study_sum", "c_study_n", "c_sports_sum", "c_sports_n", "c_score_sum",
              "c_score_n", "latest_score")


def _count(name: str, kind: type = sa.Integer) -> sa.Column:
    return sa.Column(name, kind(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "summary_calendar",
        sa.Column("date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("date", name=op.f("pk_summary_calendar")),
    )
    op.create_table(
        "student_week_summary",
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("att_sum", sa.Double(), nullable=True),
        _count("att_n", sa.SmallInteger),
        sa.Column("study_sum", sa.Double(), nullable=True),
        _count("study_n", sa.SmallInteger),
        _count("sports_sum", sa.SmallInteger),
        _count("sports_n", sa.SmallInteger),
        sa.Column("score_sum", sa.Double(), nullable=True),
        _count("score_n", sa.SmallInteger),
        sa.Column("c_att_sum", sa.Numeric(), nullable=True),
        _count("c_att_n"),
        sa.Column("c_study_sum", sa.Numeric(), nullable=True),
        _count("c_study_n"),
        _count("c_sports_sum"),
        _count("c_sports_n"),
        sa.Column("c_score_sum", sa.Numeric(), nullable=True),
        _count("c_score_n"),
        sa.Column("latest_score", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("student_id", "date", name=op.f("pk_student_week_summary")),
    )
    op.create_index("ix_student_week_summary_date", "student_week_summary", ["date", "student_id"],
                    unique=False, postgresql_include=list(CUMULATIVE))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_student_week_summary_date", table_name="student_week_summary")
    op.drop_table("student_week_summary")
    op.drop_table("summary_calendar")

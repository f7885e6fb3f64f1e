"""indicators: the transparent early-warning flags per student, and their thresholds as derivation rules

``student_indicators`` holds one row per student (chronic absence, course performance, low study time, each with
the value it was decided on), refreshed by every load after the summaries (empty until the next load). The thresholds are rows of
``derivation_rules``: ``chronic_absence`` (0002: attendance below ``upper``), ``course_performance`` (running grade
below ``upper``, the pass mark), ``grade_drop`` (a fall of ``lower`` points or more over ``upper`` weeks) and
``low_study`` (hours a week below ``upper``).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RULES = [
    # kind, label, lower, upper, ordinal
    ("course_performance", "below pass mark", None, 60.0, 0),
    ("grade_drop", "drop over weeks", 10.0, 4.0, 0),
    ("low_study", "low", None, 2.0, 0),
]
KINDS = tuple(r[0] for r in RULES)


def upgrade() -> None:
    """Create ``student_indicators`` and add the indicator thresholds."""
    op.create_table(
        "student_indicators",
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("attendance", sa.Double(), nullable=True),
        sa.Column("chronic_absence", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("running_grade", sa.Double(), nullable=True),
        sa.Column("grade_drop", sa.Double(), nullable=True),
        sa.Column("course_performance", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("study_hours", sa.Double(), nullable=True),
        sa.Column("low_study", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_student_indicators_student_id_students"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_student_indicators")),
    )
    op.create_index("ix_student_indicators_flags", "student_indicators",
                    ["chronic_absence", "course_performance", "low_study"], unique=False)
    table = sa.table("derivation_rules", sa.column("kind", sa.Text), sa.column("label", sa.Text),
                     sa.column("lower", sa.Double), sa.column("upper", sa.Double), sa.column("ordinal", sa.SmallInteger))
    op.bulk_insert(table, [dict(zip(("kind", "label", "lower", "upper", "ordinal"), r, strict=True)) for r in RULES])


def downgrade() -> None:
    """Drop ``student_indicators`` and its rules."""
    op.execute("DELETE FROM derivation_rules WHERE kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")")
    op.drop_index("ix_student_indicators_flags", table_name="student_indicators")
    op.drop_table("student_indicators")

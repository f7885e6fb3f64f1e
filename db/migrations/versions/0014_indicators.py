"""indicators: the transparent early-warning flags per student, and their thresholds as derivation rules

``student_indicators`` holds one row per student (chronic absence, course performance, low study time, each with
the value it was decided on), refreshed by every load after the summaries; this revision fills it once from the stored summaries (the SQL
below is frozen here as ``db.indicators`` had it, so later changes there do not change this revision). The thresholds are rows of
``derivation_rules``: ``chronic_absence`` (0002: attendance below ``upper``), ``course_performance`` (running grade
below ``upper``, the pass mark), ``grade_drop`` (a fall of ``lower`` points or more over ``upper`` weeks) and
``low_study`` (hours a week below ``upper``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

RULES = [
    # kind, label, lower, upper, ordinal
    ("course_performance", "below pass mark", None, 60.0, 0),
    ("grade_drop", "drop over weeks", 10.0, 4.0, 0),
    ("low_study", "low", None, 2.0, 0),
]
KINDS = tuple(r[0] for r in RULES)
FILL_SQL = """
INSERT INTO student_indicators (student_id, attendance, chronic_absence, running_grade, grade_drop,
                                course_performance, study_hours, low_study)
WITH r AS (
    SELECT coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'chronic_absence'), 0.9) AS chronic,
           coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'course_performance'), 60) AS pass_mark,
           coalesce((SELECT min(lower) FROM derivation_rules WHERE kind = 'grade_drop'), 10) AS drop_points,
           coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'grade_drop'), 4) AS drop_weeks,
           coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'low_study'), 2) AS low_study
), v AS (
    SELECT s.student_id, s.attendance_mean, s.latest_score, s.study_hours_mean,
           before.latest_score - s.latest_score AS grade_drop
    FROM student_summary s CROSS JOIN r
    LEFT JOIN LATERAL (
        SELECT w.latest_score FROM student_week_summary w
        WHERE w.student_id = s.student_id AND w.date <= s.latest_score_date - (r.drop_weeks * 7)::int
        ORDER BY w.date DESC LIMIT 1
    ) before ON s.latest_score IS NOT NULL
)
SELECT v.student_id, v.attendance_mean, coalesce(v.attendance_mean < r.chronic, false), v.latest_score, v.grade_drop,
       coalesce(v.latest_score < r.pass_mark, false) OR coalesce(v.grade_drop >= r.drop_points, false),
       v.study_hours_mean, coalesce(v.study_hours_mean < r.low_study, false)
FROM v CROSS JOIN r
"""


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
    op.execute(FILL_SQL)


def downgrade() -> None:
    """Drop ``student_indicators`` and its rules."""
    op.execute("DELETE FROM derivation_rules WHERE kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")")
    op.drop_index("ix_student_indicators_flags", table_name="student_indicators")
    op.drop_table("student_indicators")

"""summary refresh performance: each student-date row keeps the student's previous date with events

``class_week_summary`` counts a student once per week and school year, on the first of their dates in it;
with ``prev_date`` stored, rebuilding a class's weeks is a plain read of its students' rows, no window.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

HAS_EVENTS = "att_n + study_n + score_n + sports_n > 0"
FILL = f"""
UPDATE student_week_summary w SET prev_date = p.prev
FROM (SELECT student_id, date, lag(date) OVER (PARTITION BY student_id ORDER BY date) AS prev
      FROM student_week_summary WHERE {HAS_EVENTS}) p
WHERE p.student_id = w.student_id AND p.date = w.date AND p.prev IS NOT NULL
"""


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("student_week_summary", sa.Column("prev_date", sa.Date(), nullable=True))
    op.execute(FILL)
    # the update moved every row: put each student's rows back together, as a full refresh writes them
    op.execute("CLUSTER student_week_summary USING pk_student_week_summary")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("student_week_summary", "prev_date")

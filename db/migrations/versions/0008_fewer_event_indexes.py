"""ingest performance: drop the date indexes of study_hours and activity_participation

No query reads those tables by date alone: the profile reads one student's rows (primary key), the
model's features scan every row up to a date, and the dashboards read the summary tables. Each index
cost about 0.3 s per million rows on a first load and one more index entry per upserted row after it.
``attendance`` and ``scores`` keep theirs (``latest_data_date`` and the training dates read them).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_study_hours_date", table_name="study_hours")
    op.drop_index("ix_activity_participation_date", table_name="activity_participation")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index("ix_activity_participation_date", "activity_participation", ["date"], unique=False)
    op.create_index("ix_study_hours_date", "study_hours", ["date"], unique=False)

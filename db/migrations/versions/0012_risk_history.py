"""risk history: every scoring run's predictions are kept, keyed by (scoring_run_id, student_id), with an interval

Predictions gain ``low`` and ``high`` (the uncertainty interval of the probability); rows written before this
revision had none, so their interval is the probability itself (lo = hi = probability). Scoring runs record how
their tiers were set: ``method`` (``cutoffs``: by the probability's high/low cut-offs, as every run before this
revision did; ``interval``: DEWS tiers from the interval against ``threshold``) and that threshold.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("predictions", sa.Column("low", sa.Double(), nullable=True))
    op.add_column("predictions", sa.Column("high", sa.Double(), nullable=True))
    op.execute("UPDATE predictions SET low = probability, high = probability")
    op.alter_column("predictions", "low", nullable=False)
    op.alter_column("predictions", "high", nullable=False)
    op.create_check_constraint(op.f("ck_predictions_interval_valid"), "predictions",
                               "low <= probability AND probability <= high")
    op.drop_constraint(op.f("pk_predictions"), "predictions", type_="primary")
    op.create_primary_key(op.f("pk_predictions"), "predictions", ["scoring_run_id", "student_id"])
    op.create_index("ix_predictions_student_run", "predictions", ["student_id", "scoring_run_id"], unique=False)
    op.add_column("scoring_runs", sa.Column("method", sa.Text(), server_default=sa.text("'cutoffs'"), nullable=False))
    op.add_column("scoring_runs", sa.Column("threshold", sa.Double(), nullable=True))
    op.create_check_constraint(op.f("ck_scoring_runs_method_valid"), "scoring_runs",
                               "method IN ('cutoffs', 'interval')")


def downgrade() -> None:
    """Revert this revision (keeps only each model's latest run's predictions, as before)."""
    op.drop_constraint(op.f("ck_scoring_runs_method_valid"), "scoring_runs", type_="check")
    op.drop_column("scoring_runs", "threshold")
    op.drop_column("scoring_runs", "method")
    op.execute(
        "DELETE FROM predictions p WHERE p.scoring_run_id <> (SELECT max(q.scoring_run_id) FROM predictions q "
        "WHERE q.model_version_id = p.model_version_id)"
    )
    op.drop_index("ix_predictions_student_run", table_name="predictions")
    op.drop_constraint(op.f("pk_predictions"), "predictions", type_="primary")
    op.create_primary_key(op.f("pk_predictions"), "predictions", ["student_id", "model_version_id"])
    op.drop_constraint(op.f("ck_predictions_interval_valid"), "predictions", type_="check")
    op.drop_column("predictions", "high")
    op.drop_column("predictions", "low")

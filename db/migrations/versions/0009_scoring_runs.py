"""scoring runs: each `studentperf score` run is a row with its date and tier cut-offs; predictions point to theirs

Runs before this revision did not record their cut-offs: each model's stored predictions get one run
holding the default cut-offs (High at the model's threshold, Low below half of it), which is what
`score` used unless it was given --high/--low.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "scoring_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("n_scored", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("0 <= low AND low <= high AND high <= 1", name=op.f("ck_scoring_runs_cutoffs_valid")),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"],
                                name=op.f("fk_scoring_runs_model_version_id_model_versions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_runs")),
    )
    op.create_index("ix_scoring_runs_model_version_id", "scoring_runs", ["model_version_id", "id"], unique=False)
    op.add_column("predictions", sa.Column("scoring_run_id", sa.Integer(), nullable=True))
    op.execute(
        "INSERT INTO scoring_runs (model_version_id, as_of, high, low, n_scored, created_at) "
        "SELECT p.model_version_id, max(p.as_of), m.threshold, m.threshold / 2, count(*), max(p.scored_at) "
        "FROM predictions p JOIN model_versions m ON m.id = p.model_version_id GROUP BY p.model_version_id, m.threshold"
    )
    op.execute("UPDATE predictions p SET scoring_run_id = r.id FROM scoring_runs r WHERE r.model_version_id = p.model_version_id")
    op.alter_column("predictions", "scoring_run_id", nullable=False)
    op.create_foreign_key(op.f("fk_predictions_scoring_run_id_scoring_runs"), "predictions", "scoring_runs",
                          ["scoring_run_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_constraint(op.f("fk_predictions_scoring_run_id_scoring_runs"), "predictions", type_="foreignkey")
    op.drop_column("predictions", "scoring_run_id")
    op.drop_index("ix_scoring_runs_model_version_id", table_name="scoring_runs")
    op.drop_table("scoring_runs")

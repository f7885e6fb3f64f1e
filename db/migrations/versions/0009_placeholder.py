"""PLACEHOLDER for the scoring-runs migration another branch adds (dropped by the integrator).

Revision ID: 0009
Revises: 0008
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: a placeholder."""


def downgrade() -> None:
    """Nothing: a placeholder."""

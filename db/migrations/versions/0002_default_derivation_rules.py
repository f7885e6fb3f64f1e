"""default derivation rules (study bins, sports levels, performance labels, low attendance)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RULES = [
    # kind, label, lower, upper, ordinal
    ("study_bin", "0-1", None, 1.0, 0),
    ("study_bin", "1-3", 1.0, 3.0, 1),
    ("study_bin", "3-6", 3.0, 6.0, 2),
    ("study_bin", "6+", 6.0, None, 3),
    ("sports_level", "none", None, 0.000001, 0),
    ("sports_level", "occasional", 0.000001, 0.5, 1),
    ("sports_level", "regular", 0.5, None, 2),
    ("performance", "Failing", None, 60.0, 0),
    ("performance", "Passing", 60.0, 70.0, 1),
    ("performance", "Good", 70.0, 85.0, 2),
    ("performance", "Excellent", 85.0, None, 3),
    ("low_attendance", "low", None, 0.75, 0),
    ("chronic_absence", "chronic", None, 0.90, 0),
]


def upgrade() -> None:
    """Insert the default rules."""
    table = sa.table(
        "derivation_rules",
        sa.column("kind", sa.Text),
        sa.column("label", sa.Text),
        sa.column("lower", sa.Double),
        sa.column("upper", sa.Double),
        sa.column("ordinal", sa.SmallInteger),
    )
    op.bulk_insert(table, [dict(zip(("kind", "label", "lower", "upper", "ordinal"), r, strict=True)) for r in RULES])


def downgrade() -> None:
    """Remove every rule."""
    op.execute("DELETE FROM derivation_rules")

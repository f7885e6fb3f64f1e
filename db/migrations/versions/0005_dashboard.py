"""dashboard: users.session_epoch, bumped on logout and deactivation to end every session of a user

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("users", sa.Column("session_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("users", "session_epoch")

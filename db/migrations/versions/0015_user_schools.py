"""user schools: school administrators and staff are tied to their schools; one-time password-reset links

Adds the role ``school_admin`` (administers only its schools), the table ``user_schools`` and
``password_resets`` (a reset token's SHA-256, its expiry and when it was spent). Existing staff keep
seeing their school when the database holds exactly one school (they are tied to it); with several
schools they see nothing until an administrator gives them their school(s), never every school.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.drop_constraint(op.f("ck_users_role_valid"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_valid"), "users", "role IN ('admin', 'school_admin', 'staff', 'teacher')")
    op.create_table(
        "user_schools",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_schools_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name="fk_user_schools_school_id_schools", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "school_id", name="pk_user_schools"),
    )
    op.create_index("ix_user_schools_school_id", "user_schools", ["school_id"], unique=False)
    op.execute(
        "INSERT INTO user_schools (user_id, school_id) SELECT u.id, s.id FROM users u CROSS JOIN schools s "
        "WHERE u.role = 'staff' AND (SELECT count(*) FROM schools) = 1"
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_password_resets_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_password_resets"),
        sa.UniqueConstraint("token_hash", name="uq_password_resets_token_hash"),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision (school administrators become staff)."""
    op.drop_index("ix_password_resets_user_id", table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_index("ix_user_schools_school_id", table_name="user_schools")
    op.drop_table("user_schools")
    op.execute("UPDATE users SET role = 'staff' WHERE role = 'school_admin'")
    op.drop_constraint(op.f("ck_users_role_valid"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_valid"), "users", "role IN ('admin', 'staff', 'teacher')")

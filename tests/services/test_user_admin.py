"""The users page's rules: who manages whom, what a school administrator may give, one-time password links."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text

from core.errors import Forbidden, InvalidInput, NotFound
from db.models import AuditLog, LoginAttempt, User
from services import password_reset, user_admin, users
from services.scope import Viewer

PASSWORD = "a-long-enough-password"


@dataclass(frozen=True)
class Setup:
    north: int
    south: int
    north_class: int
    south_class: int
    district: Viewer
    head: Viewer  # school administrator of North


@pytest.fixture()
def setup(session) -> Setup:
    ids = {}
    for name in ("UA North", "UA South"):
        school = session.execute(text("INSERT INTO schools (name) VALUES (:n) RETURNING id"), {"n": name}).scalar_one()
        ids[name] = (school, session.execute(text(
            "INSERT INTO classes (school_id, name, grade_level, school_year) VALUES (:s, '9A', 9, '2025-2026') RETURNING id"),
            {"s": school}).scalar_one())
    admin = users.add_user(session, email="ua-admin@test.example", password=PASSWORD, role="admin")
    head = users.add_user(session, email="ua-head@test.example", password=PASSWORD, role="school_admin", schools=["UA North"])
    (north, north_class), (south, south_class) = ids["UA North"], ids["UA South"]
    return Setup(north, south, north_class, south_class, users.load_viewer(session, admin.id), users.load_viewer(session, head.id))


def test_teachers_and_staff_may_not_manage_users(session, setup) -> None:
    for role in ("teacher", "staff"):
        viewer = Viewer(user_id=setup.head.user_id, email="x@test.example", role=role, school_ids=frozenset({setup.north}))
        with pytest.raises(Forbidden):
            user_admin.managed_users(session=session, viewer=viewer)
        with pytest.raises(Forbidden):
            user_admin.create_user(session=session, viewer=viewer, email="no@test.example", full_name=None, role="teacher")


def test_a_school_admin_creates_a_teacher_of_its_school_only(session, setup) -> None:
    link = user_admin.create_user(session=session, viewer=setup.head, email="ua-t@test.example", full_name="T",
                                  role="teacher", schools=[setup.north], classes=[setup.north_class])
    assert link.user.class_ids == (setup.north_class,) and link.user.school_ids == (setup.north,) and link.token
    with pytest.raises(Forbidden):
        user_admin.create_user(session=session, viewer=setup.head, email="ua-t2@test.example", full_name=None,
                               role="teacher", classes=[setup.south_class])
    with pytest.raises(Forbidden):
        user_admin.create_user(session=session, viewer=setup.head, email="ua-a2@test.example", full_name=None, role="admin")
    with pytest.raises(InvalidInput, match="at least one of your schools"):
        user_admin.create_user(session=session, viewer=setup.head, email="ua-s2@test.example", full_name=None, role="staff")


def test_a_school_admin_sees_and_changes_only_users_of_its_schools(session, setup) -> None:
    mine = user_admin.create_user(session=session, viewer=setup.district, email="ua-mine@test.example", full_name=None,
                                  role="staff", schools=[setup.north]).user
    theirs = user_admin.create_user(session=session, viewer=setup.district, email="ua-theirs@test.example", full_name=None,
                                    role="staff", schools=[setup.south]).user
    both = user_admin.create_user(session=session, viewer=setup.district, email="ua-both@test.example", full_name=None,
                                  role="staff", schools=[setup.north, setup.south]).user
    listed = {u.email for u in user_admin.managed_users(session=session, viewer=setup.head)}
    assert "ua-mine@test.example" in listed and not listed & {"ua-theirs@test.example", "ua-both@test.example", "ua-admin@test.example"}
    for user_id in (theirs.id, both.id, setup.district.user_id, 10**9):  # out of reach answers like a missing user
        with pytest.raises(NotFound, match=user_admin.NO_SUCH_USER):
            user_admin.set_active(session=session, viewer=setup.head, user_id=user_id, active=False)
    changed = user_admin.change_user(session=session, viewer=setup.head, user_id=mine.id, role="teacher",
                                     schools=[setup.north], classes=[setup.north_class])
    assert changed.role == "teacher" and changed.class_ids == (setup.north_class,)
    with pytest.raises(Forbidden):
        user_admin.change_user(session=session, viewer=setup.head, user_id=mine.id, role="staff", schools=[setup.south])
    assert len(user_admin.managed_users(session=session, viewer=setup.district)) >= 5
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "user.change").order_by(AuditLog.id.desc())).first()
    assert entry.details["before"]["role"] == "staff" and entry.details["after"]["role"] == "teacher"


def test_deactivate_reactivate_and_unlock(session, setup) -> None:
    user = user_admin.create_user(session=session, viewer=setup.head, email="ua-lock@test.example", full_name=None,
                                  role="staff", schools=[setup.north]).user
    session.add_all(LoginAttempt(email=user.email, address="10.0.0.9", success=False) for _ in range(6))
    session.flush()
    assert users.is_throttled(session, email=user.email, address="10.0.0.9")
    assert user_admin.unlock(session=session, viewer=setup.head, user_id=user.id) == 6
    assert not users.is_throttled(session, email=user.email, address="10.0.0.9")
    assert not user_admin.set_active(session=session, viewer=setup.head, user_id=user.id, active=False).is_active
    assert users.load_viewer(session, user.id) is None
    assert user_admin.set_active(session=session, viewer=setup.head, user_id=user.id, active=True).is_active
    with pytest.raises(InvalidInput, match="yourself"):
        user_admin.set_active(session=session, viewer=setup.head, user_id=setup.head.user_id, active=False)
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.target == user.email)))
    assert {"user.add", "user.unlock", "user.deactivate", "user.reactivate", "user.reset_link"} <= actions


def test_a_reset_link_works_once_and_only_its_hash_is_kept(session, setup) -> None:
    created = user_admin.create_user(session=session, viewer=setup.head, email="ua-new@test.example", full_name=None,
                                     role="staff", schools=[setup.north])
    first = created.token
    second = user_admin.reset_link(session=session, viewer=setup.head, user_id=created.user.id).token
    stored = list(session.scalars(text("SELECT token_hash FROM password_resets WHERE user_id = :u"), {"u": created.user.id}))
    assert first not in stored and password_reset.hash_token(second) in stored
    with pytest.raises(InvalidInput, match="not valid any more"):  # issuing a new link spent the first
        password_reset.use_link(session, token=first, password=PASSWORD, confirm=PASSWORD)
    with pytest.raises(InvalidInput, match="differ"):
        password_reset.use_link(session, token=second, password=PASSWORD, confirm=PASSWORD + "x")
    with pytest.raises(InvalidInput, match="at least"):
        password_reset.use_link(session, token=second, password="short", confirm="short")
    assert password_reset.use_link(session, token=second, password=PASSWORD, confirm=PASSWORD) == "ua-new@test.example"
    assert users.authenticate(session, email="ua-new@test.example", password=PASSWORD, address="10.0.0.8").ok
    with pytest.raises(InvalidInput, match="not valid any more"):
        password_reset.use_link(session, token=second, password=PASSWORD, confirm=PASSWORD)
    for bad in ("", "x" * 43, "../../etc", "a" * 500):
        assert not password_reset.link_is_valid(session, bad)


def test_an_expired_link_is_refused(session, setup) -> None:
    link = user_admin.reset_link(session=session, viewer=setup.district, user_id=setup.head.user_id)
    session.execute(text("UPDATE password_resets SET expires_at = now() - interval '1 minute'"))
    with pytest.raises(InvalidInput, match="not valid any more"):
        password_reset.use_link(session, token=link.token, password=PASSWORD, confirm=PASSWORD)
    assert session.scalar(select(func.count()).select_from(User).where(User.email == "ua-head@test.example")) == 1

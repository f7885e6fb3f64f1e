"""The login throttle's numbers, pinned as literals: 5 failures per account, 100 per address (15 minutes).

test_auth.py checks how the throttle behaves relative to its constants; these tests fail if the
constants themselves change (a limit of 50 would let a password-guesser try ten times as often).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from webtools import PASSWORD, login, make_client, make_user, next_address

from services.users import BAD_CREDENTIALS, THROTTLED, is_throttled


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@test.example"


def test_the_sixth_login_to_an_account_after_five_failures_is_refused(app, database):
    user = make_user(database, _email("five"), "staff")
    for attempt in range(1, 6):  # five wrong passwords, each from another address: the usual answer
        response = login(make_client(app, next_address()), user.email, "wrong-password")
        assert response.status_code == 401, f"wrong password #{attempt}"
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    sixth = login(make_client(app, next_address()), user.email, PASSWORD)  # even the right password
    assert sixth.status_code == 429
    assert THROTTLED in sixth.get_data(as_text=True)


def _committed_failures(database, *, address: str, n: int) -> None:
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO login_attempts (email, address, success, at) VALUES (:e, :a, false, now())"),
            [{"e": _email(f"spray{i}"), "a": address} for i in range(n)],
        )


def test_the_login_after_a_hundred_failures_from_an_address_is_refused_to_accounts_new_there(app, database):
    address = next_address()
    regular = make_user(database, _email("regular"), "teacher")
    assert login(make_client(app, address), regular.email, PASSWORD).status_code == 302  # known at this address
    _committed_failures(database, address=address, n=99)  # ninety-nine accounts sprayed from one address
    hundredth = login(make_client(app, address), _email("spray-last"), "wrong-password")
    assert hundredth.status_code == 401 and BAD_CREDENTIALS in hundredth.get_data(as_text=True)
    victim = make_user(database, _email("victim"), "staff")
    refused = login(make_client(app, address), victim.email, PASSWORD)  # a real account, the right password
    assert refused.status_code == 429
    assert THROTTLED in refused.get_data(as_text=True)
    assert login(make_client(app, next_address()), victim.email, PASSWORD).status_code == 302  # elsewhere: fine
    # behind the same (school) address, an account that logged in there before is not locked out by the sprayer
    assert login(make_client(app, address), regular.email, PASSWORD).status_code == 302


def test_ninety_nine_failures_from_an_address_do_not_throttle_it(app, database):
    address = next_address()
    _committed_failures(database, address=address, n=99)
    victim = make_user(database, _email("victim"), "staff")
    assert login(make_client(app, address), victim.email, PASSWORD).status_code == 302


def _failures(session, *, emails: list[str], address: str, minutes_ago: int) -> None:
    session.execute(
        text("INSERT INTO login_attempts (email, address, success, at) VALUES (:e, :a, false, now() - make_interval(mins => :m))"),
        [{"e": e, "a": address, "m": minutes_ago} for e in emails],
    )


@pytest.mark.parametrize(("minutes_ago", "throttled"), [(14, True), (16, False)])
def test_failures_count_for_fifteen_minutes(session, minutes_ago, throttled):
    account, sprayer = _email("window"), next_address()
    _failures(session, emails=[account] * 5, address=next_address(), minutes_ago=minutes_ago)
    _failures(session, emails=[_email(f"w{i}") for i in range(100)], address=sprayer, minutes_ago=minutes_ago)
    assert is_throttled(session, email=account, address=next_address()) is throttled  # the account's five
    assert is_throttled(session, email=_email("fresh"), address=sprayer) is throttled  # the address's hundred

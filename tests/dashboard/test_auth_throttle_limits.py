"""The login throttle's numbers, pinned as literals: 5 failures per account, 20 per address (15 minutes).

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


def test_the_twenty_first_login_from_an_address_after_twenty_failures_is_refused(app, database):
    address = next_address()
    for attempt in range(1, 21):  # twenty accounts sprayed from one address, each failure answered normally
        response = login(make_client(app, address), _email(f"spray{attempt}"), "wrong-password")
        assert response.status_code == 401, f"failure #{attempt} from {address}"
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    victim = make_user(database, _email("victim"), "staff")
    refused = login(make_client(app, address), victim.email, PASSWORD)  # a real account, the right password
    assert refused.status_code == 429
    assert THROTTLED in refused.get_data(as_text=True)
    assert login(make_client(app, next_address()), victim.email, PASSWORD).status_code == 302  # elsewhere: fine


def _failures(session, *, emails: list[str], address: str, minutes_ago: int) -> None:
    session.execute(
        text("INSERT INTO login_attempts (email, address, success, at) VALUES (:e, :a, false, now() - make_interval(mins => :m))"),
        [{"e": e, "a": address, "m": minutes_ago} for e in emails],
    )


@pytest.mark.parametrize(("minutes_ago", "throttled"), [(14, True), (16, False)])
def test_failures_count_for_fifteen_minutes(session, minutes_ago, throttled):
    account, sprayer = _email("window"), next_address()
    _failures(session, emails=[account] * 5, address=next_address(), minutes_ago=minutes_ago)
    _failures(session, emails=[_email(f"w{i}") for i in range(20)], address=sprayer, minutes_ago=minutes_ago)
    assert is_throttled(session, email=account, address=next_address()) is throttled  # the account's five
    assert is_throttled(session, email=_email("fresh"), address=sprayer) is throttled  # the address's twenty

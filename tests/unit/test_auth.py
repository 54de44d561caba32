from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib.auth import issue_token, principal_from_header
from chalicelib.errors import Forbidden, Unauthenticated

SECRET = "unit-test-secret-0123456789abcdefghijklmnop"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_token_gives_its_principal() -> None:
    token = issue_token(SECRET, "clerk-1", "staff", datetime.now(UTC), timedelta(hours=1), store_id="s1")
    principal = principal_from_header(SECRET, bearer(token), ("staff",))
    assert (principal.sub, principal.role, principal.store_id) == ("clerk-1", "staff", "s1")


def test_the_wrong_role_is_forbidden_not_unauthenticated() -> None:
    token = issue_token(SECRET, "m1", "member", datetime.now(UTC), timedelta(hours=1))
    with pytest.raises(Forbidden):
        principal_from_header(SECRET, bearer(token), ("admin",))


@pytest.mark.parametrize("header", [
    None, "", "Basic abc", "Bearer ", "Bearer not.a.jwt",
    bearer(issue_token(SECRET, "a", "admin", NOW - timedelta(days=2), timedelta(hours=1))),  # expired
    bearer(issue_token("another-secret-0123456789abcdefghijkl", "a", "admin", datetime.now(UTC), timedelta(hours=1))),
    bearer(jwt.encode({"sub": "a", "role": "admin", "exp": 4102444800}, key="", algorithm="none")),
    bearer(jwt.encode({"sub": "a", "role": "root", "exp": 4102444800}, SECRET, algorithm="HS256")),
    bearer(jwt.encode({"sub": "a", "role": "admin"}, SECRET, algorithm="HS256")),  # no exp
    bearer(jwt.encode({"sub": "a", "role": "staff", "exp": 4102444800}, SECRET, algorithm="HS256")),  # no store
])
def test_missing_forged_expired_or_malformed_tokens_are_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        principal_from_header(SECRET, header, ("admin", "member", "staff"))


def test_staff_act_only_for_their_own_store_admins_for_any() -> None:
    staff = principal_from_header(SECRET, bearer(issue_token(SECRET, "c", "staff", datetime.now(UTC),
                                                             timedelta(hours=1), store_id="s1")), ("staff",))
    staff.require_store("s1")
    with pytest.raises(Forbidden):
        staff.require_store("s2")
    admin = principal_from_header(SECRET, bearer(issue_token(SECRET, "hq", "admin", datetime.now(UTC),
                                                             timedelta(hours=1))), ("admin",))
    admin.require_store("s2")


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    """RFC 9110 §11.1: `authorization: bearer <jwt>` was refused as 401."""
    token = issue_token(SECRET, "m1", "member", datetime.now(UTC), timedelta(hours=1))
    assert principal_from_header(SECRET, f"{scheme} {token}", ("member",)).sub == "m1"

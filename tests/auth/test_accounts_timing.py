"""Nobody tells a taken address from a new one, or an invited account from any other, by how
long the answer takes: every path that refuses or accepts a password costs the same hashing.

The suite hashes with a cheap scheme (tests/conftest.py); the timing tests here put the
production hash back, since only its cost is large enough to tell the paths apart. They time
the CPU the request costs this process (the test client serves it in-process): what an
attacker's stopwatch measures, less the other processes sharing the machine."""
from __future__ import annotations

import statistics
import time
import uuid

import pytest
from werkzeug import security

import portal.services.users as users_service
from portal.services.accounts import account_invite

ROUNDS = 7  # per path, interleaved, so a busy machine slows both alike
MARGIN = 0.25  # the slower median is at most this much above the faster one
PASSWORD = "sunlit-meadow-walk-42"


@pytest.fixture
def production_hashing(monkeypatch):
    monkeypatch.setattr(users_service, "generate_password_hash", security.generate_password_hash)


@pytest.fixture
def hash_calls(monkeypatch):
    """How often each path hashes: generate_password_hash calls, and check_password_hash calls
    against a real hash (werkzeug answers at once, hashing nothing, for a stored value without one)."""
    calls = {"generate": 0, "check": 0}

    def counting(name, original):
        def wrapper(*args, **kwargs):
            if name == "generate" or "$" in args[0]:
                calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(users_service, "generate_password_hash",
                        counting("generate", users_service.generate_password_hash))
    monkeypatch.setattr(users_service, "check_password_hash",
                        counting("check", users_service.check_password_hash))
    return calls


def signup(client, email: str):
    return client.post("/signup", data={"display_name": "Someone", "email": email, "password": PASSWORD,
                                        "timezone": "UTC"})


def login(client, email: str, address: str):
    return client.post("/login", data={"email": email, "password": "not-the-password"},
                       environ_base={"REMOTE_ADDR": address})


def timed(request, *args) -> float:
    started = time.process_time()
    response = request(*args)
    elapsed = time.process_time() - started
    assert response.status_code in (200, 400), response.status_code
    return elapsed


def assert_alike(first: list[float], second: list[float]) -> None:
    slow, fast = max(statistics.median(first), statistics.median(second)), \
        min(statistics.median(first), statistics.median(second))
    assert slow <= fast * (1 + MARGIN), (
        f"medians {statistics.median(first) * 1000:.0f} ms and {statistics.median(second) * 1000:.0f} ms")


@pytest.fixture
def invited(app, users):
    return account_invite(actor=users["admin"], email="invited@example.test", display_name="Invited",
                          role="specialist")


def test_signup_with_a_taken_address_hashes_as_often_as_with_a_new_one(client, users, hash_calls):
    signup(client, f"new-{uuid.uuid4().hex[:8]}@example.test")
    new = dict(hash_calls)
    hash_calls.update(generate=0, check=0)
    signup(client, users["patient"].email)
    assert hash_calls == new == {"generate": 1, "check": 0}


def test_a_wrong_password_hashes_once_for_an_invited_unknown_or_ordinary_account(
        client, users, invited, hash_calls):
    for email in (invited.email, "nobody@example.test", users["patient"].email):
        hash_calls.update(generate=0, check=0)
        assert login(client, email, "192.0.2.10").status_code == 400
        assert hash_calls == {"generate": 0, "check": 1}, email


def test_signup_takes_as_long_for_a_taken_address_as_for_a_new_one(client, make_user, production_hashing):
    owner = make_user(email="owner@example.test")
    taken, new = [], []
    signup(client, "warm-up@example.test")
    for _ in range(ROUNDS):
        taken.append(timed(signup, client, owner.email))
        new.append(timed(signup, client, f"new-{uuid.uuid4().hex[:8]}@example.test"))
    assert_alike(taken, new)


def test_a_wrong_password_takes_as_long_for_an_invited_account_as_for_others(
        client, make_user, invited, production_hashing):
    ordinary = make_user(email="ordinary@example.test")  # hashed by production's scheme
    assert ordinary.password_hash.split("$")[0] == security.generate_password_hash("x").split("$")[0]
    invited_times, ordinary_times, unknown_times = [], [], []
    for round_ in range(ROUNDS):
        address = f"192.0.2.{20 + round_}"  # no throttle reached: each round signs in from its own address
        invited_times.append(timed(login, client, invited.email, address))
        ordinary_times.append(timed(login, client, ordinary.email, address))
        unknown_times.append(timed(login, client, "nobody@example.test", address))
    assert_alike(invited_times, ordinary_times)
    assert_alike(unknown_times, ordinary_times)

"""pages/ui/replica.py: which sessions hear that their replica went away (decision logic; the e2e test
tests/e2e/test_replicas_e2e.py kills a real replica)."""
from pages.ui.replica import FIRST_LOAD_S, SeenCookies, minted_at, moved

NOW = 1_800_000_000.0


def cookie(age_s: float) -> str:
    return f"{NOW - age_s:.3f}-0f3c9a2e5b7d4c1a8e6f2b9d0c3a5e7f"


def test_mint_time_is_read_from_nginx_cookies_only():
    assert minted_at(cookie(5)) == NOW - 5
    assert minted_at("abc-def") is None
    assert minted_at("0-x") is None


def test_a_first_visit_and_a_reload_hear_nothing():
    seen = SeenCookies()
    fresh = cookie(2)
    assert not moved(fresh, seen, NOW)  # first visit: cookie minted a moment ago
    assert not moved(fresh, seen, NOW + 3600)  # reload an hour later on the same replica: known here


def test_an_old_cookie_new_to_this_replica_means_the_session_moved():
    seen = SeenCookies()
    old = cookie(FIRST_LOAD_S + 1)
    assert moved(old, seen, NOW)
    assert not moved(old, seen, NOW)  # said once; the next session of that browser is at home here


def test_no_cookie_or_a_foreign_one_is_not_behind_our_nginx():
    seen = SeenCookies()
    assert not moved(None, seen, NOW)
    assert not moved("", seen, NOW)
    assert not moved("someone-elses-cookie", seen, NOW)


def test_the_memory_is_bounded_oldest_first():
    seen = SeenCookies(limit=3)
    for i in range(5):
        assert seen.add(f"k{i}")
    assert seen.add("k0")  # forgotten
    assert not seen.add("k4")

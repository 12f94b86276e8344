"""The client-side request budget: sliding windows on a fake clock, and the service's Ratelimit headers."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames.client.ratelimit import RateLimiter, ServerRateLimit, parse_ratelimit_headers


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def fake_limiter(windows, **kwargs) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(windows, clock=clock, sleep=clock.sleep, **kwargs), clock


def max_in_any_window(times: list[float], window_s: float) -> int:
    """The most request times that fall in any half-open window of length window_s."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window_s + 1e-9:  # exactly one window apart is allowed
            start += 1
        best = max(best, end - start + 1)
    return best


def test_three_budgets_of_requests_stay_within_every_window():
    windows = ((50, 300.0), (10, 10.0))
    limiter, clock = fake_limiter(windows)
    granted_at = []
    for _ in range(3 * 50):
        limiter.acquire()
        granted_at.append(clock.now)
    assert max_in_any_window(granted_at, 300.0) <= 50
    assert max_in_any_window(granted_at, 10.0) <= 10
    # and it did not wait longer than it had to: the 101st request goes exactly two long windows in
    assert granted_at[100] - granted_at[0] == pytest.approx(600.0)
    assert granted_at[99] < granted_at[100]
    assert limiter.waited_s == pytest.approx(sum(clock.slept))


def test_default_windows_stay_below_cloudflare_and_realtimekit_limits():
    limiter, clock = fake_limiter(RateLimiter().windows)
    granted_at = []
    for _ in range(3 * 1000):
        limiter.acquire()
        granted_at.append(clock.now)
    assert max_in_any_window(granted_at, 300.0) <= 1200  # Cloudflare: 1,200 / 5 min per token
    assert max_in_any_window(granted_at, 10.0) <= 250  # RealtimeKit: 250 / 10 s


@settings(max_examples=40, deadline=None)
@given(
    max_requests=st.integers(1, 8),
    window_s=st.floats(0.5, 50.0),
    gaps=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=40),
)
def test_any_arrival_pattern_stays_within_the_window(max_requests, window_s, gaps):
    limiter, clock = fake_limiter(((max_requests, window_s),))
    granted_at = []
    for gap in gaps:
        clock.sleep(gap)  # the caller's own think time
        limiter.acquire()
        granted_at.append(clock.now)
    assert max_in_any_window(granted_at, window_s) <= max_requests


def test_threads_share_one_budget():
    limiter, clock = fake_limiter(((5, 60.0),))
    granted_at: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(4):
            limiter.acquire()
            with lock:
                granted_at.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted_at) == 20
    assert limiter.granted == 20
    assert max_in_any_window(granted_at, 60.0) <= 5


def test_server_saying_nothing_remains_makes_the_next_request_wait_its_reset():
    limiter, _clock = fake_limiter(((100, 10.0),))
    limiter.acquire()
    limiter.observe({"Ratelimit": '"default";r=0;t=42', "Ratelimit-Policy": '"default";q=1200;w=300'})
    assert limiter.acquire() == pytest.approx(42.0)


def test_an_absurd_reset_time_is_cut_to_the_maximum():
    limiter, _clock = fake_limiter(((100, 10.0),), reset_max_s=300.0)
    limiter.observe({"Ratelimit": '"default";r=0;t=21600'})
    assert limiter.acquire() == pytest.approx(300.0)


def test_server_saying_little_remains_spreads_the_rest_over_the_reset_time():
    limiter, clock = fake_limiter(((1000, 10.0),))
    limiter.acquire()
    status = limiter.observe({"ratelimit": '"default";r=4;t=20', "ratelimit-policy": '"default";q=100;w=60'})
    assert status == ServerRateLimit(4, 20.0, 100, 60.0, "default")
    start = clock.now
    waits = [limiter.acquire() for _ in range(3)]
    assert waits == pytest.approx([5.0, 5.0, 5.0])
    assert clock.now - start == pytest.approx(15.0)


def test_plenty_remaining_does_not_slow_down():
    limiter, _clock = fake_limiter(((1000, 10.0),))
    limiter.observe({"Ratelimit": '"default";r=4;t=20'})
    limiter.observe({"Ratelimit": '"default";r=900;t=20', "Ratelimit-Policy": '"default";q=1000;w=60'})
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5


def test_parse_picks_the_most_restrictive_policy():
    status = parse_ratelimit_headers({
        "RateLimit": '"burst";r=40;t=5, "daily";r=3;t=3000',
        "RateLimit-Policy": '"burst";q=100;w=10, "daily";q=1000;w=86400',
    })
    assert status == ServerRateLimit(3, 3000.0, 1000, 86400.0, "daily")


def test_parse_reads_the_older_separate_headers():
    status = parse_ratelimit_headers({"RateLimit-Remaining": "7", "RateLimit-Reset": "12",
                                      "RateLimit-Limit": "100, 100;w=60"})
    assert status == ServerRateLimit(7, 12.0, 100, None, None)


@pytest.mark.parametrize("headers", [
    {},
    {"Ratelimit": "garbage"},
    {"Ratelimit": '"default";r=abc;t=5'},
    {"Ratelimit": '"default";r=5'},
    {"Ratelimit": '"default";r=-1;t=5'},
    {"RateLimit-Remaining": "5"},
])
def test_parse_returns_none_for_missing_or_malformed_headers(headers):
    assert parse_ratelimit_headers(headers) is None


@pytest.mark.parametrize("windows", [((0, 10.0),), ((5, 0.0),), ((5, -1.0),)])
def test_impossible_windows_are_rejected(windows):
    with pytest.raises(ValueError, match="window"):
        RateLimiter(windows)


@settings(max_examples=200, deadline=None)
@given(windows=st.lists(st.tuples(st.integers(1, 6), st.floats(0.5, 20.0)), min_size=1, max_size=3),
       history=st.lists(st.floats(0.0, 5.0), max_size=12), requests=st.integers(0, 25))
def test_time_for_is_when_the_last_of_that_many_requests_would_go(windows, history, requests):
    """``time_for(R)`` equals what acquiring R requests one after another takes (a fake clock: each
    wait advances it exactly), whatever the windows and the grants before."""
    now = [0.0]
    limiter = RateLimiter(windows, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for gap in history:  # a history of grants, some of them waited for
        now[0] += gap
        limiter.acquire()
    predicted, started = limiter.time_for(requests), now[0]
    for _ in range(requests):
        limiter.acquire()
    assert now[0] - started == pytest.approx(predicted, abs=1e-9)

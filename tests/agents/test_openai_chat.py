"""The OpenAI-compatible backend against a local fake server, and its limits."""

from __future__ import annotations

import email.utils
import itertools
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from brigade.agents.limits import CallLimits, RateLimiter, RetryPolicy
from brigade.agents.openai_chat import OpenAIChat
from brigade.chat import Message, messages_tokens
from brigade.errors import (
    ChatTimeoutError,
    ConfigError,
    InputError,
    RateLimitError,
    ServerError,
)
from tests.fakes import FakeClock
from tests.fakes.openai_server import FakeOpenAIServer, Fault, FaultPlan

USER = [Message("system", "You plan."), Message("user", "NAME Alice ACTION WAIT\nmore text")]
FAST_RETRY = RetryPolicy(max_retries=3, base_s=0.01, max_s=0.05)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


def make_chat(base_url: str, clock: FakeClock | None = None, **kw: Any) -> OpenAIChat:
    clock = clock or FakeClock()
    options: dict[str, Any] = {
        "base_url": base_url,
        "api_key": "sk-test",
        "timeout_s": 5.0,
        "retry": FAST_RETRY,
        "clock": clock.now,
        "sleep": clock.sleep,
        "rng": random.Random(0),
    }
    options.update(kw)
    return OpenAIChat("test-model", **options)


# -- success ---------------------------------------------------------------


def test_success_sends_every_parameter(server: FakeOpenAIServer) -> None:
    chat = make_chat(server.base_url)
    reply = chat.complete(
        USER, temperature=0.3, top_p=0.9, max_tokens=77, stop=["\n\n", "END"], seed=11
    )
    assert reply.text == "NAME Alice ACTION WAIT"
    assert reply.retries == 0 and not reply.cached
    assert reply.model == "test-model"
    assert reply.usage.source == "server"
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (2 + 6, 4)
    (body,) = server.bodies
    assert body["model"] == "test-model"
    assert body["messages"] == [
        {"role": "system", "content": "You plan."},
        {"role": "user", "content": "NAME Alice ACTION WAIT\nmore text"},
    ]
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 77
    assert body["stop"] == ["\n\n", "END"]
    assert body["seed"] == 11
    assert "guided_regex" not in body
    assert server.requests[0].path == "/v1/chat/completions"
    chat.close()


def test_unset_seed_and_stop_are_not_sent(server: FakeOpenAIServer) -> None:
    make_chat(server.base_url).complete(USER)
    (body,) = server.bodies
    assert "seed" not in body and "stop" not in body


def test_guided_regex_and_extra_body_are_sent(server: FakeOpenAIServer) -> None:
    regex = r"(EXECUTE|PROCEED)\n(NAME \w+ ACTION .+\n?)+"
    chat = make_chat(server.base_url, guided_regex=regex, extra_body={"top_k": 5})
    chat.complete(USER)
    (body,) = server.bodies
    assert body["guided_regex"] == regex
    assert body["top_k"] == 5
    assert chat.describe()["guided_regex"] == regex


def test_usage_is_estimated_when_the_server_omits_it() -> None:
    with FakeOpenAIServer(usage=False) as server:
        reply = make_chat(server.base_url).complete(USER)
    assert reply.usage.source == "estimate"
    assert reply.usage.tokens_in == messages_tokens(USER)
    assert reply.usage.tokens_out > 0


def test_latency_is_measured_on_the_injected_clock_retries_included() -> None:
    clock = FakeClock()
    faults = FaultPlan.first(2, "rate_limit", retry_after="3")
    with FakeOpenAIServer(faults=faults) as server:
        reply = make_chat(server.base_url, clock).complete(USER)
    assert reply.retries == 2
    assert reply.latency_s == pytest.approx(6.0)


# -- faults retried, then success -------------------------------------------

TRANSIENT = ["rate_limit", "server_error", "unavailable", "malformed_json", "no_choices", "drop"]


@pytest.mark.parametrize("kind", TRANSIENT)
def test_each_transient_fault_is_retried_until_success(kind: str) -> None:
    clock = FakeClock()
    with FakeOpenAIServer(faults=FaultPlan.first(2, kind)) as server:
        reply = make_chat(server.base_url, clock).complete(USER)
        recorded = server.requests
    assert reply.text == "NAME Alice ACTION WAIT"
    assert reply.retries == 2
    assert [r.fault for r in recorded] == [kind, kind, None]
    assert len(clock.sleeps) == 2


def test_a_stall_past_the_timeout_is_retried() -> None:
    faults = FaultPlan(at={0: Fault("stall", stall_s=3.0)})
    with FakeOpenAIServer(faults=faults) as server:
        started = time.monotonic()
        reply = make_chat(server.base_url, timeout_s=0.3).complete(USER)
        elapsed = time.monotonic() - started
    assert reply.retries == 1
    assert elapsed < 2.5  # the client gave up on the stall; it did not wait it out


def test_random_faults_at_a_seeded_rate_all_end_in_answers() -> None:
    faults = FaultPlan(probability=0.4, kinds=("rate_limit", "server_error", "drop"), seed=3)
    with FakeOpenAIServer(faults=faults) as server:
        chat = make_chat(server.base_url, retry=RetryPolicy(max_retries=10, base_s=0.0))
        texts = [chat.complete([Message("user", f"step {i}")]).text for i in range(20)]
        faulted = sum(r.fault is not None for r in server.requests)
    assert texts == [f"step {i}" for i in range(20)]
    assert faulted > 0


# -- faults exhausted ----------------------------------------------------------

EXHAUSTED = [
    ("rate_limit", RateLimitError, "HTTP 429"),
    ("server_error", ServerError, "HTTP 500"),
    ("unavailable", ServerError, "HTTP 503"),
    ("malformed_json", ServerError, "malformed"),
    ("no_choices", ServerError, "malformed"),
    ("drop", ServerError, "connection"),
]


@pytest.mark.parametrize(("kind", "error", "label"), EXHAUSTED)
def test_each_fault_exhausted_raises_its_typed_error(
    kind: str, error: type[Exception], label: str
) -> None:
    retry = RetryPolicy(max_retries=2, base_s=0.01)
    with FakeOpenAIServer(faults=FaultPlan.always(kind)) as server:
        with pytest.raises(error) as info:
            make_chat(server.base_url, retry=retry).complete(USER)
        assert len(server.requests) == 3
        url = server.base_url
    message = str(info.value)
    assert "3 attempts" in message
    assert f"last: {label}" in message
    assert "test-model" in message and url in message


def test_timeouts_exhausted_raise_chat_timeout_error() -> None:
    retry = RetryPolicy(max_retries=1, base_s=0.0)
    with FakeOpenAIServer(faults=FaultPlan.always("stall", stall_s=3.0)) as server:
        chat = make_chat(server.base_url, timeout_s=0.2, retry=retry)
        with pytest.raises(ChatTimeoutError, match="2 attempts") as info:
            chat.complete(USER)
    assert info.value.kind == "timeout"
    assert "timed out" in str(info.value)


def test_mixed_failures_raise_the_last_kind_and_list_the_history() -> None:
    faults = FaultPlan(
        at={0: Fault("rate_limit"), 1: Fault("server_error"), 2: Fault("drop")},
    )
    with FakeOpenAIServer(faults=faults) as server, pytest.raises(ServerError) as info:
        make_chat(server.base_url, retry=RetryPolicy(max_retries=2, base_s=0.0)).complete(USER)
    assert "[HTTP 429, HTTP 500, connection]" in str(info.value)


@pytest.mark.parametrize("status", [401, 403])
def test_authentication_failures_are_not_retried(status: int) -> None:
    faults = FaultPlan(at={0: Fault("status", status=status)})
    with FakeOpenAIServer(faults=faults) as server:
        with pytest.raises(ServerError, match="authentication failed: check OPENAI_API_KEY"):
            make_chat(server.base_url).complete(USER)
        assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 422])
def test_bad_requests_are_input_errors_and_not_retried(status: int) -> None:
    with FakeOpenAIServer(faults=FaultPlan(at={0: Fault("status", status=status)})) as server:
        with pytest.raises(InputError, match=f"HTTP {status}: injected HTTP {status}"):
            make_chat(server.base_url).complete(USER)
        assert len(server.requests) == 1


def test_not_found_points_at_the_model_and_base_url() -> None:
    with FakeOpenAIServer(faults=FaultPlan(at={0: Fault("status", status=404)})) as server:
        with pytest.raises(ServerError, match="check the model name and OPENAI_BASE_URL"):
            make_chat(server.base_url).complete(USER)
        assert len(server.requests) == 1


def test_an_unreachable_server_is_a_server_error() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    with pytest.raises(ServerError, match="connection failed"):
        make_chat(url, retry=RetryPolicy(max_retries=1, base_s=0.0)).complete(USER)


# -- Retry-After and backoff -----------------------------------------------------


def test_retry_after_is_honoured() -> None:
    clock = FakeClock()
    with FakeOpenAIServer(faults=FaultPlan.first(2, "rate_limit", retry_after="7")) as server:
        make_chat(server.base_url, clock).complete(USER)
    assert clock.sleeps == [7.0, 7.0]


def test_retry_after_is_capped() -> None:
    clock = FakeClock()
    retry = RetryPolicy(max_retries=1, max_retry_after_s=20.0)
    with FakeOpenAIServer(faults=FaultPlan.first(1, "rate_limit", retry_after="500")) as server:
        make_chat(server.base_url, clock, retry=retry).complete(USER)
    assert clock.sleeps == [20.0]


def test_without_retry_after_the_backoff_grows_exponentially() -> None:
    clock = FakeClock()
    retry = RetryPolicy(max_retries=3, base_s=1.0, max_s=3.0, jitter="none")
    with FakeOpenAIServer(faults=FaultPlan.first(3, "rate_limit", retry_after=None)) as server:
        make_chat(server.base_url, clock, retry=retry).complete(USER)
    assert clock.sleeps == [1.0, 2.0, 3.0]


def test_full_jitter_backoff_stays_under_its_cap() -> None:
    clock = FakeClock()
    retry = RetryPolicy(max_retries=3, base_s=1.0, max_s=3.0)
    with FakeOpenAIServer(faults=FaultPlan.first(3, "server_error")) as server:
        make_chat(server.base_url, clock, retry=retry).complete(USER)
    assert len(clock.sleeps) == 3
    assert all(0.0 <= s <= cap for s, cap in zip(clock.sleeps, [1.0, 2.0, 3.0]))


# -- concurrency and rate ------------------------------------------------------


def test_the_concurrency_limit_is_respected_at_the_server() -> None:
    with FakeOpenAIServer(latency_s=0.15) as server:
        chat = make_chat(server.base_url, max_concurrency=3, clock=None)
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(
                pool.map(lambda i: chat.complete([Message("user", f"q{i}")]).text, range(12))
            )
        assert replies == [f"q{i}" for i in range(12)]
        assert server.max_in_flight == 3
    assert chat.limits.in_flight == 0


def test_the_rate_limiter_spaces_requests_on_the_injected_clock() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def responder(request: dict[str, Any]) -> str:
        sent_at.append(clock.now())
        return "ok"

    with FakeOpenAIServer(responder) as server:
        chat = make_chat(server.base_url, clock, requests_per_s=4.0)
        for i in range(5):
            chat.complete([Message("user", str(i))])
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps == pytest.approx([0.25] * 4)


# -- configuration from the environment -------------------------------------------


def test_env_vars_give_base_url_and_key(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    chat = OpenAIChat("env-model", retry=FAST_RETRY)
    assert chat.complete(USER).text == "NAME Alice ACTION WAIT"
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"
    assert chat.describe()["base_url"] == server.base_url


def test_arguments_win_over_env_vars(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    OpenAIChat("m", base_url=server.base_url, api_key="sk-arg").complete(USER)
    assert server.requests[0].headers["authorization"] == "Bearer sk-arg"


def test_a_custom_base_url_works_without_a_key(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    OpenAIChat("local-model").complete(USER)
    assert server.requests[0].headers["authorization"] == "Bearer EMPTY"


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIChat("gpt-4o")


def test_describe_never_shows_the_key(server: FakeOpenAIServer) -> None:
    chat = make_chat(server.base_url, api_key="sk-very-secret")
    described = chat.describe()
    assert described["backend"] == "openai"
    assert described["model"] == "test-model"
    assert "sk-very-secret" not in repr(described)
    hidden = make_chat("http://user:pw@127.0.0.1:1/v1").describe()["base_url"]
    assert hidden == "http://127.0.0.1:1/v1"


# -- RetryPolicy -------------------------------------------------------------------


def test_delays_without_jitter_double_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=5, base_s=0.5, max_s=3.0, jitter="none")
    assert list(policy.delays()) == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_delays_are_seeded_and_bounded() -> None:
    policy = RetryPolicy(max_retries=6, base_s=0.5, max_s=4.0)
    first = list(policy.delays(random.Random(5)))
    assert first == list(policy.delays(random.Random(5)))
    assert all(0 <= d <= policy.backoff_cap(i) for i, d in enumerate(first))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"RETRY-AFTER": " 2 "}, 2.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": email.utils.formatdate(1012.0, usegmt=True)}, 12.0),
        ({"Retry-After": email.utils.formatdate(900.0, usegmt=True)}, 0.0),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "3600"}, 60.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds_parses_seconds_and_dates(
    headers: dict[str, str], expected: float | None
) -> None:
    policy = RetryPolicy(max_retry_after_s=60.0)
    assert policy.retry_after_seconds(headers, now=lambda: 1000.0) == expected


def test_a_misspelt_jitter_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'full'"):
        RetryPolicy(jitter="ful")
    with pytest.raises(ConfigError, match="max_retries"):
        RetryPolicy(max_retries=-1)


# -- RateLimiter and CallLimits ------------------------------------------------------


def test_the_bucket_allows_a_burst_then_spaces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, burst=3, clock=clock.now, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.1])
    clock.advance(60.0)  # a quiet minute refills only up to the burst
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_concurrent_callers_reserve_evenly_spaced_slots() -> None:
    clock = FakeClock()
    waits: list[float] = []
    # The clock stands still, so each caller's wait is its place in the queue.
    limiter = RateLimiter(5.0, clock=clock.now, sleep=lambda s: None)
    lock = threading.Lock()

    def take() -> None:
        wait = limiter.acquire()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([i * 0.2 for i in range(16)])


def test_call_limits_bound_concurrency_and_release_on_errors() -> None:
    limits = CallLimits(max_concurrency=2)
    seen: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        with limits:
            with lock:
                seen.append(limits.in_flight)
            time.sleep(0.02)
            if i % 2:
                raise RuntimeError("boom")

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(work, i) for i in range(8)]
    assert sum(f.exception() is not None for f in futures) == 4
    assert max(seen) <= 2
    assert limits.in_flight == 0
    with limits, limits:  # both slots are free again
        pass


def test_invalid_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_concurrency"):
        CallLimits(max_concurrency=0)
    with pytest.raises(ConfigError, match="requests_per_s"):
        RateLimiter(0.0)

"""Limits around calls to a remote service: retries with backoff, rate and concurrency.

:class:`RetryPolicy` says how often and how long to wait between attempts
(exponential backoff with full jitter, and the server's ``Retry-After`` when it
sends one). :class:`RateLimiter` is a token bucket that spaces requests;
:class:`CallLimits` combines it with a bound on concurrent calls and is used as a
context manager around each call.

All time goes through injectable ``clock`` and ``sleep`` callables, so tests run
fast and deterministically with a fake clock.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType

from brigade.errors import ConfigError, did_you_mean

Clock = Callable[[], float]
"""Seconds on a monotonic clock (``time.monotonic``)."""

Sleep = Callable[[float], None]
"""Waits a number of seconds (``time.sleep``)."""

JITTERS = ("full", "none")


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed call is retried.

    The wait before retry ``n`` (0-based) is drawn uniformly from
    ``[0, min(max_s, base_s * 2**n)]`` ("full jitter", which spreads out clients
    that failed together), or is that cap itself with ``jitter="none"``. When the
    server says how long to wait (``Retry-After``), that wait is used instead,
    capped by ``max_retry_after_s``.

    Attributes:
        max_retries: Retries after the first attempt (0: never retry).
        base_s: The cap of the first wait, in seconds.
        max_s: The largest cap of any backoff wait, in seconds.
        jitter: ``full`` or ``none``.
        max_retry_after_s: The longest ``Retry-After`` honoured, in seconds.
    """

    max_retries: int = 4
    base_s: float = 0.5
    max_s: float = 30.0
    jitter: str = "full"
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigError(f"must be >= 0, not {self.max_retries}", key="retry.max_retries")
        for name in ("base_s", "max_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"must be a finite number >= 0, not {value}", key=f"retry.{name}")
        if self.jitter not in JITTERS:
            raise ConfigError(
                f"unknown jitter {self.jitter!r}{did_you_mean(self.jitter, JITTERS)}; "
                f"one of {', '.join(JITTERS)}",
                key="retry.jitter",
            )

    def backoff_cap(self, retry: int) -> float:
        """The largest wait before retry number ``retry`` (0-based), in seconds."""
        # min() before the power would overflow for absurd retry counts.
        return min(self.max_s, self.base_s * 2.0 ** min(retry, 64))

    def backoff_s(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retry`` (0-based), in seconds.

        Args:
            retry: Which retry this wait precedes (0 for the first).
            rng: Source of the jitter (a fresh unseeded one when ``None``).
        """
        cap = self.backoff_cap(retry)
        if self.jitter == "none":
            return cap
        return (rng or random.Random()).uniform(0.0, cap)

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The ``max_retries`` backoff waits, in order, in seconds.

        Args:
            rng: Source of the jitter (a fresh unseeded one when ``None``).
        """
        rng = rng or random.Random()
        for retry in range(self.max_retries):
            yield self.backoff_s(retry, rng)

    def retry_after_seconds(
        self, headers: Mapping[str, str], *, now: Clock = time.time
    ) -> float | None:
        """The wait a server asked for, or ``None`` when it did not say.

        Reads ``retry-after-ms`` (milliseconds, sent by OpenAI) and ``Retry-After``
        as delta-seconds (``"2"``, ``"1.5"``) or as an HTTP date
        (``"Wed, 21 Oct 2015 07:28:00 GMT"``). Header names are case-insensitive.
        The result is clamped to ``[0, max_retry_after_s]``; an unreadable value
        counts as not said.

        Args:
            headers: The response's headers.
            now: Wall-clock seconds since the epoch (for HTTP dates).
        """
        lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
        seconds: float | None = None
        millis = lowered.get("retry-after-ms")
        if millis is not None:
            seconds = _number(millis)
            seconds = None if seconds is None else seconds / 1000.0
        value = lowered.get("retry-after")
        if seconds is None and value is not None:
            seconds = _number(value)
            if seconds is None:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                except (TypeError, ValueError, IndexError):
                    when = None
                if when is not None:
                    seconds = when.timestamp() - now()
        if seconds is None:
            return None
        return min(max(seconds, 0.0), self.max_retry_after_s)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class RateLimiter:
    """A thread-safe token bucket: at most ``requests_per_s`` on average, ``burst`` at once.

    Each :meth:`acquire` takes one token, waiting (outside the lock) until the
    bucket has one. A caller reserves its token before it waits, so concurrent
    callers are spaced evenly, first come first served.

    Args:
        requests_per_s: Tokens added per second.
        burst: The bucket's size: how many calls may go at once after a quiet spell.
        clock: Monotonic seconds.
        sleep: Waits seconds.
    """

    def __init__(
        self,
        requests_per_s: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not (requests_per_s > 0 and math.isfinite(requests_per_s)):
            raise ConfigError(f"must be > 0, not {requests_per_s}", key="requests_per_s")
        if burst < 1:
            raise ConfigError(f"must be >= 1, not {burst}", key="burst")
        self.requests_per_s = float(requests_per_s)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; return the seconds waited."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.requests_per_s)
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0.0 else -self._tokens / self.requests_per_s
        if wait > 0.0:
            self._sleep(wait)
        return wait


class CallLimits:
    """A bound on concurrent calls and, optionally, on their rate; a context manager.

    ``with limits: call()`` waits for a free slot (a bounded semaphore) and then
    for the rate limiter, and frees the slot when the call ends. One instance is
    shared by every thread that calls the same service.

    Args:
        max_concurrency: Most calls in flight at once.
        requests_per_s: Most calls started per second on average (``None``: no limit).
        burst: Calls that may start at once after a quiet spell (with a rate).
        clock: Monotonic seconds.
        sleep: Waits seconds.
    """

    def __init__(
        self,
        max_concurrency: int = 8,
        requests_per_s: float | None = None,
        *,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"must be >= 1, not {max_concurrency}", key="max_concurrency")
        self.max_concurrency = int(max_concurrency)
        self.requests_per_s = requests_per_s
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._rate = (
            None
            if requests_per_s is None
            else RateLimiter(requests_per_s, burst, clock=clock, sleep=sleep)
        )
        self._count_lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Calls inside the context manager now."""
        with self._count_lock:
            return self._in_flight

    def __enter__(self) -> CallLimits:
        self._slots.acquire()
        try:
            if self._rate is not None:
                self._rate.acquire()
        except BaseException:
            self._slots.release()
            raise
        with self._count_lock:
            self._in_flight += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._count_lock:
            self._in_flight -= 1
        self._slots.release()

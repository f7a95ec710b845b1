"""Clock offset, per-hop latency and health of a node, as its client sees them.

Every exchange gives four wall-clock timestamps: the client sends at ``t1``,
the node receives at ``t2`` and answers at ``t3`` (its clock), the client
receives at ``t4``. A pong has ``t2 == t3``. As in NTP:

- the network delay (round trip minus the time spent in the node) is
  ``(t4 - t1) - (t3 - t2)``;
- the node's clock offset (node minus client) is ``((t2 - t1) + (t3 - t4)) / 2``,
  exact when both directions take as long. The estimate kept is the offset of
  the sample with the smallest delay in a sliding window: queueing delays make
  the paths asymmetric, and the fastest exchange had the least of them;
- the hops of a call, corrected by that offset: to the node ``t2 - offset - t1``,
  in the node ``t3 - t2``, back ``t4 - (t3 - offset)``.

Samples are stored raw (one tuple append per exchange) and reduced only when
asked, so the hot path pays almost nothing. The client measures ``t4 - t1``
on its monotonic clock, so a step of its wall clock does not distort a sample.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["ClockEstimator", "Health", "Hops"]

Sample = tuple[int, int, int, int]


@dataclass(frozen=True)
class Hops:
    """Median latencies of a call's hops, in microseconds.

    Attributes:
        to_node_us: From the client's send to the node's receive.
        in_node_us: From the node's receive to its reply (queueing and the call).
        back_us: From the node's reply to the client's receive.
    """

    to_node_us: float
    in_node_us: float
    back_us: float


class ClockEstimator:
    """Estimates a node's clock offset, the network delay and per-hop latencies.

    Thread-safe: the client's calling thread adds samples, any thread may read.

    Args:
        window: Samples (pings and calls) among which the least-delay one sets
            the offset.
        history: Samples kept for the medians.
    """

    def __init__(self, window: int = 64, history: int = 256):
        if window < 1 or history < 1:
            raise ValueError("window and history hold at least one sample")
        self.window = window
        self._sync: deque[Sample] = deque(maxlen=max(window, history))
        self._calls: deque[Sample] = deque(maxlen=history)
        self._lock = threading.Lock()

    def add(self, t1: int, t2: int, t3: int, t4: int, *, call: bool = False) -> None:
        """Record one exchange (nanoseconds; ``t1``, ``t4`` client, ``t2``, ``t3`` node).

        ``call`` marks a request/reply (its hops count for :meth:`hops`); pongs
        feed the offset and the delay only.
        """
        sample = (t1, t2, t3, t4)
        with self._lock:
            self._sync.append(sample)
            if call:
                self._calls.append(sample)

    def __len__(self) -> int:
        return len(self._sync)

    @staticmethod
    def _delay(s: Sample) -> int:
        return max(0, (s[3] - s[0]) - (s[2] - s[1]))

    @staticmethod
    def _offset(s: Sample) -> float:
        return ((s[1] - s[0]) + (s[2] - s[3])) / 2

    def offset_ns(self) -> float | None:
        """The node's clock minus this host's, in ns; ``None`` before any sample."""
        with self._lock:
            recent = list(self._sync)[-self.window :]
        if not recent:
            return None
        return self._offset(min(recent, key=self._delay))

    def delay_ns(self) -> float | None:
        """The median network round trip (without the node's own time), in ns."""
        with self._lock:
            samples = list(self._sync)
        return float(statistics.median(map(self._delay, samples))) if samples else None

    def hops(self) -> Hops | None:
        """Median per-hop latencies of the recorded calls, corrected by the offset."""
        offset = self.offset_ns()
        with self._lock:
            calls = list(self._calls)
        if not calls or offset is None:
            return None
        to_node = statistics.median(s[1] - offset - s[0] for s in calls)
        in_node = statistics.median(s[2] - s[1] for s in calls)
        back = statistics.median(s[3] - (s[2] - offset) for s in calls)
        return Hops(to_node / 1e3, in_node / 1e3, back / 1e3)


@dataclass(frozen=True)
class Health:
    """What a client knows of its node (what ``brigade ps`` prints).

    Attributes:
        node: The node's name (``?`` before it answered).
        address: The node's endpoint.
        service: The service it serves, or ``None`` before it answered.
        instance: The node's instance id, or ``None`` before it answered.
        state: ``ok`` (answering), ``late`` (silent for more than a heartbeat
            while a call waits), ``lost`` (the last call or ping failed and
            nothing was heard since) or ``unknown`` (never heard).
        last_seen_s: Seconds since the node was last heard, or ``None``.
        busy: The method the node was running at the last pong, or ``None``.
        rtt_us: The median network round trip (the node's own time excluded).
        offset_us: The node's clock minus this host's.
        hops: Median per-hop latencies of the calls, corrected by the offset.
        calls: Calls made.
        retries: Re-sends (after silence, or for a request the node never got).
        failures: Calls and pings that raised NodeUnavailableError.
    """

    node: str
    address: str
    service: str | None
    instance: str | None
    state: str
    last_seen_s: float | None
    busy: str | None
    rtt_us: float | None
    offset_us: float | None
    hops: Hops | None
    calls: int
    retries: int
    failures: int

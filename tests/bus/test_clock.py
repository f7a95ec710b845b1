"""NTP-style clock offsets and per-hop latencies."""

from __future__ import annotations

import pytest

from brigade.bus.clock import ClockEstimator

MS = 1_000_000  # ns


def exchange(
    clock: ClockEstimator, t1: int, up: int, inside: int, down: int, offset: int, call: bool = False
) -> None:
    """One exchange sent at client time ``t1``; the node's clock is ``offset`` ahead."""
    t2 = t1 + up + offset
    t3 = t2 + inside
    t4 = t1 + up + inside + down
    clock.add(t1, t2, t3, t4, call=call)


def test_symmetric_paths_give_the_exact_offset() -> None:
    clock = ClockEstimator()
    assert clock.offset_ns() is None and clock.delay_ns() is None and clock.hops() is None
    exchange(clock, 1000 * MS, 2 * MS, 5 * MS, 2 * MS, offset=-37 * MS)
    assert clock.offset_ns() == -37 * MS
    assert clock.delay_ns() == 4 * MS, "the node's own time is not network delay"


def test_the_least_delayed_sample_sets_the_offset() -> None:
    clock = ClockEstimator(window=8)
    # Queueing on the way up skews the offset of slow exchanges; the fast one is right.
    exchange(clock, 0, 30 * MS, 0, 1 * MS, offset=5 * MS)
    exchange(clock, 100 * MS, 1 * MS, 0, 1 * MS, offset=5 * MS)
    exchange(clock, 200 * MS, 1 * MS, 0, 25 * MS, offset=5 * MS)
    assert clock.offset_ns() == 5 * MS
    assert clock.delay_ns() == 26 * MS  # the median of 31, 2 and 26 ms


def test_the_window_slides() -> None:
    clock = ClockEstimator(window=3, history=10)
    exchange(clock, 0, MS // 10, 0, MS // 10, offset=1 * MS)  # the best, but old
    for i in range(3):
        exchange(clock, (i + 1) * 1000 * MS, 2 * MS, 0, 2 * MS, offset=9 * MS)
    assert clock.offset_ns() == 9 * MS, "a clock that stepped is followed"
    assert len(clock) == 4


def test_hops_are_corrected_by_the_offset() -> None:
    clock = ClockEstimator()
    for i in range(5):
        exchange(clock, i * 100 * MS, 1 * MS, 0, 1 * MS, offset=250 * MS)  # pings
    exchange(clock, 1000 * MS, 1 * MS, 7 * MS, 3 * MS, offset=250 * MS, call=True)
    hops = clock.hops()
    assert hops is not None
    assert hops.to_node_us == pytest.approx(1000.0)
    assert hops.in_node_us == pytest.approx(7000.0)
    assert hops.back_us == pytest.approx(3000.0)


def test_a_window_holds_a_sample() -> None:
    with pytest.raises(ValueError):
        ClockEstimator(window=0)

"""Telemetry over PUB/SUB: the slow-joiner handshake, latest values, bad messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq

from brigade.bus.security import SecurityConfig, authorize, create_keypair
from brigade.bus.telemetry import Publisher, Subscriber
from brigade.bus.wire import Envelope, encode
from brigade.critic import Scores


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    with Publisher("cell") as pub:
        yield pub


def test_the_first_message_reaches_a_subscriber_that_was_waited_for(publisher: Publisher) -> None:
    with Subscriber(publisher.address, ["scores"]) as sub:
        assert publisher.wait_for_subscribers(1, timeout_s=5.0)
        scores = Scores(np.array([0.5, -1.0]), None, {"baseline": "value"})
        assert publisher.publish("scores", scores) == 1
        sample = sub.recv(timeout_s=5.0)
        assert sample is not None and sample.topic == "scores" and sample.message.seq == 1
        assert np.array_equal(sample.body.advantage, scores.advantage)
        assert sample.message.sender == "cell" and sample.message.kind == "telemetry"


def test_the_handshake_counts_subscribers_and_times_out(publisher: Publisher) -> None:
    assert not publisher.wait_for_subscribers(1, timeout_s=0.1)
    first, second = Subscriber(publisher.address), Subscriber(publisher.address, ["a", "b"])
    try:
        assert publisher.wait_for_subscribers(2, timeout_s=5.0)
        assert publisher.topics == {b"": 1, b"a": 1, b"b": 1}
    finally:
        first.close()
    deadline = time.monotonic() + 5.0
    while publisher.subscribers != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert publisher.subscribers == 1, "a closed subscriber is no longer counted"
    second.close()


def test_topics_are_prefixes(publisher: Publisher) -> None:
    with Subscriber(publisher.address, ["frames/left"]) as sub:
        assert publisher.wait_for_subscribers(1)
        publisher.publish("frames/right", 1)
        publisher.publish("frames/left/wrist", 2)
        sample = sub.recv(timeout_s=5.0)
        assert sample is not None and sample.topic == "frames/left/wrist" and sample.body == 2
        assert sub.recv(timeout_s=0.1) is None


def test_a_late_reader_gets_the_latest_frame_not_a_backlog(publisher: Publisher) -> None:
    with Subscriber(publisher.address, ["frames"]) as sub:
        assert publisher.wait_for_subscribers(1)
        count = 30
        for i in range(count):  # 30 frames of 1 MB while the reader looks elsewhere
            publisher.publish("frames", np.full((1024, 1024), i, dtype=np.uint8))
            time.sleep(0.005)
        deadline = time.monotonic() + 5.0
        while sub.received + sub.dropped < count and time.monotonic() < deadline:
            time.sleep(0.02)
        newest = sub.latest()
        assert newest is not None and newest.message.seq == count, "the newest frame"
        assert int(newest.body[0, 0]) == count - 1 and newest.body.flags.writeable
        assert sub.latest() is None and sub.recv(timeout_s=0.1) is None, "no backlog"
        assert sub.received == sub.skipped + 1 and sub.received + sub.dropped == count


def test_recv_reads_in_order_what_was_kept(publisher: Publisher) -> None:
    with Subscriber(publisher.address, ["n"], hwm=3) as sub:
        assert publisher.wait_for_subscribers(1)
        for i in range(10):
            publisher.publish("n", i)
            time.sleep(0.005)  # (at the pace the reader's thread keeps: none is dropped)
        deadline = time.monotonic() + 5.0
        while sub.received + sub.dropped < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        bodies = []
        while (sample := sub.recv(timeout_s=0.1)) is not None:
            bodies.append(sample.body)
        assert bodies == [7, 8, 9], "the oldest are dropped, the newest kept in order"
        assert sub.skipped + sub.dropped == 7


def test_bad_messages_are_counted_and_skipped() -> None:
    context: zmq.Context[Any] = zmq.Context.instance()
    pub: zmq.Socket[Any] = context.socket(zmq.XPUB)
    pub.linger = 0
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    try:
        with Subscriber(f"tcp://127.0.0.1:{port}", ["t"]) as sub:
            assert pub.poll(5000), "no subscription arrived"
            while pub.poll(200):
                pub.recv()
            pub.send_multipart([b"t", b"\xc1 not msgpack"])
            pub.send(b"t-alone")  # no message after the topic
            pub.send_multipart([b"t", *encode(Envelope.now("telemetry", "raw", 1, "fine"))])
            sample = sub.recv(timeout_s=5.0)
            assert sample is not None and sample.body == "fine"
            assert sub.errors == 2 and sub.received == 1
    finally:
        pub.close()


def test_curve_telemetry_reaches_authorized_readers_only(tmp_path: Path) -> None:
    for name in ("cell", "reader", "intruder"):
        create_keypair(name, tmp_path)
    authorize(tmp_path / "reader.key", tmp_path)
    server = SecurityConfig.load("cell", keys_dir=tmp_path)
    with Publisher("cell", "tcp://127.0.0.1:0", security=server) as pub:
        reader = SecurityConfig.load("reader", keys_dir=tmp_path, server_key="cell")
        intruder = SecurityConfig.load("intruder", keys_dir=tmp_path, server_key="cell")
        with (
            Subscriber(pub.address, security=reader) as good,
            Subscriber(pub.address, security=intruder) as bad,
        ):
            assert pub.wait_for_subscribers(1, timeout_s=5.0)
            assert not pub.wait_for_subscribers(2, timeout_s=0.3)
            pub.publish("state", {"step": 1})
            sample = good.recv(timeout_s=5.0)
            assert sample is not None and sample.body == {"step": 1}
            assert bad.recv(timeout_s=0.3) is None

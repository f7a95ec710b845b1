"""The client: failing fast, retries, re-sends, keepalive, health, threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from brigade.bus.client import Client
from brigade.bus.node import Node, serve
from brigade.bus.wire import Limits
from brigade.errors import InfrastructureError, MessageTooLargeError, NodeUnavailableError
from tests.bus.procs import SlowEnv, ToyArm

FAST: dict[str, Any] = {"liveness_s": 0.3, "heartbeat_s": 0.05, "retries": 2, "backoff_s": 0.01}


def free_address() -> str:
    """A loopback port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def node() -> Iterator[Node]:
    with serve(SlowEnv(), name="env", heartbeat_s=0.05) as served:
        yield served


def test_nobody_there_fails_fast_and_says_what_it_waited_for() -> None:
    address = free_address()
    with Client(address, name="lonely", **FAST) as client:
        states: list[str] = []
        timer = threading.Timer(0.2, lambda: states.append(client.health().state))
        timer.start()
        start = time.monotonic()
        with pytest.raises(NodeUnavailableError) as caught:
            client.call("describe")
        waited = time.monotonic() - start
        timer.join()
        assert states == ["late"], "silent for more than two heartbeats while waiting"
        assert 0.3 * 3 <= waited < 3.0, "liveness x (retries + 1), plus the backoff"
        message = str(caught.value)
        for part in (address, "describe()", "lonely", "2 retries", "no sign of life for 0.3 s"):
            assert part in message, message
        assert isinstance(caught.value, InfrastructureError)
        health = client.health()
        assert health.state == "lost" and health.failures == 1 and health.retries == 2
        with pytest.raises(NodeUnavailableError):
            client.ping()


def test_a_node_that_appears_later_is_reached(node: Node) -> None:
    address = node.address
    node.close()
    with Client(address, name="early", liveness_s=2.0, heartbeat_s=0.05) as client:
        result: list[object] = []
        thread = threading.Thread(target=lambda: result.append(client.call("agents")))
        thread.start()
        time.sleep(0.2)
        with serve(SlowEnv(), name="late", address=address):
            thread.join(5)
        assert result == [("Alice", "Bob")]
        assert client.health().node == "late"


def test_ping_reports_the_round_trip_and_the_node(node: Node) -> None:
    with Client(node.address, **FAST) as client:
        assert client.health().state == "unknown"
        rtt = client.ping()
        assert 0 < rtt < 0.5
        health = client.health()
        assert health.state == "ok" and health.instance == node.instance
        assert health.service == "env" and health.busy is None


def test_the_client_refuses_what_it_cannot_send(node: Node) -> None:
    small = Limits(max_frame_bytes=1024, max_message_bytes=4096)
    with Client(node.address, limits=small, **FAST) as client:
        with pytest.raises(MessageTooLargeError):
            client.call("restore", np.zeros(2048, dtype=np.uint8))
        assert client.call("agents") == ("Alice", "Bob")


def test_a_request_the_node_never_got_is_resent_then_reported() -> None:
    # The node drops the connection of a peer that sends a frame over its MAXMSGSIZE,
    # so the request vanishes; the pongs say so, and the client re-sends it.
    small = Limits(max_header_bytes=64 * 1024, max_frame_bytes=64 * 1024)
    with (
        serve(SlowEnv(), name="strict", limits=small, heartbeat_s=0.05) as node,
        Client(node.address, **FAST) as client,
    ):
        start = time.monotonic()
        with pytest.raises(NodeUnavailableError, match="never received the request"):
            client.call("restore", np.zeros(1 << 20, dtype=np.uint8).tobytes(), timeout_s=5.0)
        assert time.monotonic() - start < 5.0
        assert client.health().retries == 2
        assert client.call("agents") == ("Alice", "Bob"), "the connection is back"


def test_a_reply_that_never_arrives_is_asked_again_then_reported() -> None:
    # Now the client drops the node's connection: the reply (a picture) is over its limit,
    # and libzmq does not reconnect after such a protocol error: the client does.
    small = Limits(max_header_bytes=64 * 1024, max_frame_bytes=64 * 1024)
    env = SlowEnv()
    with (
        serve(env, name="env", heartbeat_s=0.05) as node,
        Client(node.address, limits=small, **FAST) as client,
    ):
        client.call("reset", 0)
        with pytest.raises(NodeUnavailableError, match=r"no sign of life|replies never arrived"):
            client.call("render", timeout_s=5.0)
        assert node.stats().resent == 2, "the cached reply was sent again, the call not re-run"
        assert client.call("agents") == ("Alice", "Bob")


def test_keepalive_keeps_an_idle_session() -> None:
    lost: list[str] = []
    with serve(
        SlowEnv(), name="env", heartbeat_s=0.05, client_timeout_s=0.3, on_client_lost=lost.append
    ) as node:
        kept = Client(node.address, name="kept", keepalive=True, **FAST)
        idle = Client(node.address, name="idle", **FAST)
        try:
            kept.call("agents")
            idle.call("agents")
            time.sleep(1.0)
            assert len(lost) == 1 and lost[0].startswith("idle-"), lost
            assert node.stats().clients == 1
        finally:
            kept.close()
            idle.close()


def test_a_shared_client_serializes_threads(node: Node) -> None:
    with Client(node.address, **FAST) as client:
        client.call("reset", 0)
        agents = client.call("agents")
        results: dict[int, object] = {}

        def work(i: int) -> None:
            for _ in range(20):
                results[i] = client.call("describe", agents[i % 2])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        expected = {i: client.call("describe", agents[i % 2]) for i in range(4)}
        assert results == expected
        assert client.health().calls == 2 + 80 + 4


def test_a_closed_client_says_so(node: Node) -> None:
    client = Client(node.address, **FAST)
    client.call("agents")
    client.close()
    client.close()
    with pytest.raises(NodeUnavailableError, match="closed"):
        client.call("agents")
    time.sleep(0.1)
    assert node.stats().clients == 0, "the goodbye reached the node"


def test_the_session_start_accepts_a_new_instance() -> None:
    arm = ToyArm()
    with serve(arm, name="arm") as node, Client(node.address, **FAST) as client:
        client.call("connect")
        assert client.health().instance == node.instance
        client.new_session()
        assert client.call("is_connected") is True

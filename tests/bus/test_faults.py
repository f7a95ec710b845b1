"""Faults, with nodes (or clients) in other processes on loopback.

Killed and restarted nodes, garbage and oversized messages, wrong schema
versions, unauthenticated clients and clients that vanish.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from brigade.bus.client import Client
from brigade.bus.node import serve
from brigade.bus.protocol import raise_remote
from brigade.bus.proxies import RemoteArm, RemoteCritic, RemoteEnv
from brigade.bus.security import SecurityConfig, authorize, create_keypair
from brigade.bus.wire import Envelope, decode, encode
from brigade.critic import CriticState
from brigade.errors import (
    InfrastructureError,
    MessageTooLargeError,
    NodeUnavailableError,
    SchemaVersionError,
    WireError,
)
from brigade.plan import JointPlan, Outcome
from brigade.task_env import wait_plan
from tests.bus.procs import Proc, SlowEnv, ToyArm, finish, start_caller, start_node

FAST: dict[str, Any] = {"liveness_s": 0.4, "heartbeat_s": 0.05, "retries": 2, "backoff_s": 0.02}


def until(condition: Any, timeout_s: float, step_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)
    return True


def episode(env: RemoteEnv, seed: int, steps: int) -> tuple[list[Outcome], str | None]:
    """An episode loop wrapped as the runner wraps it: infrastructure failures end it."""
    outcomes: list[Outcome] = []
    failure = None
    try:
        env.reset(seed)
        for _ in range(steps):
            outcomes.append(env.execute(wait_plan(env.agents)))
    except InfrastructureError as exc:
        failure = f"{exc.kind}: {exc}"
    return outcomes, failure


# --------------------------------------------------------------------- (1) killed mid-call


def test_a_node_killed_mid_call_ends_the_episode_cleanly() -> None:
    with start_node("env", delay_s=0.3) as node, RemoteEnv(node.address, **FAST) as env:
        result: list[tuple[list[Outcome], str | None]] = []
        thread = threading.Thread(target=lambda: result.append(episode(env, 0, 10)))
        thread.start()
        assert until(lambda: env.step_count >= 3, 10.0), "the episode did not start"
        time.sleep(0.1)  # the fourth execute is running
        killed = time.monotonic()
        node.kill()
        thread.join(10)
        detected = time.monotonic() - killed
        assert result, "the episode loop hung"
        outcomes, failure = result[0]
        assert detected < 5.0, f"the loss took {detected:.1f} s to report"
        assert failure is not None and failure.startswith("node_unavailable: ")
        assert "gave no sign of life" in failure and "execute()" in failure
        assert node.address in failure
        assert 3 <= len(outcomes) <= 4 and all(isinstance(o, Outcome) for o in outcomes)
        assert env.step_count == len(outcomes), "the steps recorded so far stay readable"
        assert env.health().state == "lost"


# --------------------------------------------------------------------- (2) restarted


def test_a_restarted_stateless_node_is_picked_up() -> None:
    first = start_node("critic")
    address = first.address
    state = CriticState(("Alice",), np.zeros(3, dtype=np.float32), ("Alice",))
    plans = [wait_plan(("Alice",))]
    with RemoteCritic(address, **FAST) as critic:
        try:
            before = critic.score_joint(state, plans)
            first.kill()
        finally:
            first.kill()
        with start_node("critic", address=address) as second:
            after = critic.score_joint(state, plans)  # transparently, on the new node
            assert np.array_equal(before.advantage, after.advantage)
            assert critic.health().instance == second.instance != first.instance


def test_a_restarted_stateful_node_refuses_the_old_session() -> None:
    first = start_node("env")
    address = first.address
    with RemoteEnv(address, **FAST) as env:
        try:
            env.reset(0)
            env.execute(wait_plan(env.agents))
            first.kill()
        finally:
            first.kill()
        with start_node("env", address=address) as second:
            with pytest.raises(NodeUnavailableError, match="restarted: its state is lost") as hit:
                env.execute(wait_plan(env.agents))
            assert "reset()" in str(hit.value)
            with pytest.raises(NodeUnavailableError, match="restarted"):
                env.describe()  # still the old session
            env.reset(0)  # a new session on the new node
            assert env.execute(wait_plan(env.agents)).steps >= 1
            assert env.step_count == 1 and env.health().instance == second.instance


# --------------------------------------------------------------------- (3) bad messages


@pytest.fixture(scope="module")
def strict_node() -> Iterator[Proc]:
    """An env node with small limits: 64 KiB frames, 128 KiB messages."""
    with start_node("env", max_frame_bytes=64 * 1024, max_message_bytes=128 * 1024) as node:
        yield node


def dealer(address: str) -> zmq.Socket[Any]:
    sock: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(address)
    return sock


def refusal(sock: zmq.Socket[Any], node: str = "env-node") -> BaseException:
    assert sock.poll(5000), "the node did not answer"
    reply = decode(sock.recv_multipart())
    assert reply.kind == "error" and reply.seq == 0
    return raise_remote(node, reply.body)


def test_bad_messages_are_refused_while_others_are_served(strict_node: Proc) -> None:
    good = Client(strict_node.address, name="good", **FAST)
    served: list[int] = []
    stop = threading.Event()

    def keep_calling() -> None:
        good.call("reset", 0)
        while not stop.is_set():
            good.call("describe")
            served.append(1)

    worker = threading.Thread(target=keep_calling)
    worker.start()
    bad = dealer(strict_node.address)
    try:
        assert until(lambda: len(served) > 5, 10.0)
        bad.send(b"junk")  # not a multipart message of the wire format
        assert type(refusal(bad)) is WireError
        bad.send_multipart([b"\x93\x01\xff", b"\x00" * 7, b"garbage"])
        assert type(refusal(bad)) is WireError
        bad.send(msgpack.packb([999, "request", "old", 1, 0, 0, [], [], None]))  # version 999
        exc = refusal(bad)
        assert type(exc) is SchemaVersionError and exc.theirs == 999
        # Each frame under the node's limit, the message over it: refused on decoding.
        arrays = (
            np.zeros(60_000, np.uint8),
            np.zeros(60_000, np.uint8),
            np.zeros(60_000, np.uint8),
        )
        bad.send_multipart(encode(Envelope.now("request", "big", 1, ("restore", arrays, {}, None))))
        assert type(refusal(bad)) is MessageTooLargeError
        # One frame over the node's MAXMSGSIZE: the connection is dropped, nothing answered.
        bad.send_multipart(
            encode(Envelope.now("request", "huge", 2, ("restore", (b"x" * 2_000_000,), {}, None)))
        )
        assert not bad.poll(500)
        count = len(served)
        assert until(lambda: len(served) > count + 5, 10.0), "the node stopped serving others"
    finally:
        stop.set()
        worker.join(10)
        bad.close()
        good.close()


def test_a_client_learns_why_its_request_was_refused(strict_node: Proc) -> None:
    with Client(strict_node.address, **FAST) as client:
        arrays = tuple(np.zeros(60_000, np.uint8) for _ in range(3))
        with pytest.raises(MessageTooLargeError, match="max_message_bytes"):
            client.call("restore", arrays)
        with pytest.raises(NodeUnavailableError, match="never received the request"):
            client.call("restore", b"x" * 2_000_000)
        assert client.call("agents") == ("Alice", "Bob")


# --------------------------------------------------------------------- (4) CURVE


def test_curve_refuses_unknown_and_plain_clients(tmp_path: Path) -> None:
    for name in ("server", "client", "intruder"):
        create_keypair(name, tmp_path)
    authorize(tmp_path / "client.key", tmp_path)
    with start_node("env", keys=tmp_path) as node:
        authorized = SecurityConfig.load("client", keys_dir=tmp_path, server_key="server")
        intruder = SecurityConfig.load("intruder", keys_dir=tmp_path, server_key="server")
        with Client(node.address, security=authorized, **FAST) as good:
            assert good.call("agents") == ("Alice", "Bob")
            for security, why in ((intruder, "refused this client's key"), (None, "handshake")):
                with Client(node.address, security=security, **FAST) as other:
                    start = time.monotonic()
                    with pytest.raises(NodeUnavailableError) as caught:
                        other.call("agents")
                    assert time.monotonic() - start < 5.0
                    assert why in str(caught.value), caught.value
                    assert other.health().node == "?", "it never heard from the node"
            assert good.call("describe").startswith("Kitchen"), "still serving the authorized"


# --------------------------------------------------------------------- (5) vanished clients


def test_a_client_killed_mid_call_is_reported_lost() -> None:
    lost: list[str] = []
    env = SlowEnv(delay_s=0.5)
    with serve(
        env, name="env", heartbeat_s=0.05, client_timeout_s=0.5, on_client_lost=lost.append
    ) as node:
        caller = start_caller(node.address, "reset", "0")
        try:
            assert until(lambda: node.busy == "reset", 10.0)
            caller.kill()
            killed = time.monotonic()
            assert until(lambda: bool(lost), 5.0), "the vanished client was never reported"
            assert time.monotonic() - killed < 0.5 + 1.0
            assert lost[0].startswith("caller-") and node.stats().clients_lost == 1
        finally:
            caller.kill()


def test_an_arm_stops_when_its_client_goes_silent() -> None:
    arm = ToyArm()
    with serve(arm, name="arm", heartbeat_s=0.05, client_timeout_s=0.4) as node:
        with RemoteArm(node.address, **FAST) as remote:
            remote.connect()
            remote.send_action({"joints.pos": np.array([0.2, 0.1], dtype=np.float32)})
            assert arm.connected
            silent = time.monotonic()  # no command, no ping: the watchdog fires
            assert until(lambda: not arm.connected, 3.0), "the arm was left running"
            assert time.monotonic() - silent < 0.4 + 0.5
            assert arm.disconnects == 1
        assert node.stats().clients_lost == 1


# --------------------------------------------------------------------- two hosts


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def two_hosts() -> Iterator[tuple[list[str], list[str], str]]:
    """Two network namespaces joined by a veth pair: (run in A, run in B, A's address)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = f"{os.getpid() % 100000}{secrets.token_hex(2)}"
    a, b = f"brg-a{tag}", f"brg-b{tag}"
    try:
        _ip("netns", "add", a)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"network namespaces are not available here: {exc}")
    try:
        _ip("netns", "add", b)
        _ip(
            "link",
            "add",
            f"va{tag}",
            "netns",
            a,
            "type",
            "veth",
            "peer",
            "name",
            f"vb{tag}",
            "netns",
            b,
        )
        for ns, dev, ip in ((a, f"va{tag}", "10.254.77.1/30"), (b, f"vb{tag}", "10.254.77.2/30")):
            _ip("-n", ns, "addr", "add", ip, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield ["ip", "netns", "exec", a], ["ip", "netns", "exec", b], "10.254.77.1"
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


@pytest.mark.slow
def test_curve_between_two_hosts(
    two_hosts: tuple[list[str], list[str], str], tmp_path: Path
) -> None:
    in_a, in_b, server_ip = two_hosts
    for name in ("server", "client", "intruder"):
        create_keypair(name, tmp_path)
    authorize(tmp_path / "client.key", tmp_path)
    keys = str(tmp_path)
    with start_node("env", prefix=in_a, address=f"tcp://{server_ip}:0", keys=keys) as node:
        assert node.address.startswith(f"tcp://{server_ip}:")

        def call(*options: str) -> tuple[int | None, str]:
            caller = start_caller(
                node.address, "agents", *options, "--liveness-s", "0.4", prefix=in_b
            )
            out = finish(caller)
            return caller.proc.returncode, out

        code, out = call("--keys", keys, "--key", "client")
        assert code == 0 and "RESULT ('Alice', 'Bob')" in out, out
        code, out = call("--keys", keys, "--key", "intruder")
        assert code == 1 and "NodeUnavailableError" in out and "refused this client's key" in out
        code, out = call()  # no keys at all: the client will not even try another host
        assert code == 1 and "SecurityError" in out and "without CURVE keys" in out, out
        code, out = call("--keys", keys, "--key", "client")
        assert code == 0, "the node still serves its authorized client"


def test_a_node_process_stops_cleanly_on_sigterm() -> None:
    node = start_node("env")
    with Client(node.address, **FAST) as client:
        assert client.call("agents") == ("Alice", "Bob")
    start = time.monotonic()
    assert node.stop() == 0
    assert time.monotonic() - start < 5.0
    assert isinstance(JointPlan(()), JointPlan)

"""Nodes and clients in one process (threads), over real loopback sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from brigade.action import Action
from brigade.bus.client import Client
from brigade.bus.node import Node, serve
from brigade.bus.protocol import raise_remote
from brigade.bus.services import (
    Service,
    get_service,
    register_service,
    service_for,
    services,
    unregister_service,
)
from brigade.bus.wire import SCHEMA_VERSION, Envelope, bare_envelope, decode, encode
from brigade.critic import CriticState, Scores
from brigade.critics.controls import ConstantCritic
from brigade.errors import (
    InputError,
    NodeUnavailableError,
    PlanError,
    RegistryError,
    RemoteError,
    SchemaVersionError,
    SecurityError,
    WireError,
)
from brigade.plan import JointPlan
from brigade.task_env import wait_plan
from brigade.testing.node_conformance import Call, check_node
from tests.bus.procs import CountingPolicy, DistanceProgress, SlowEnv, ToyArm

FAST: dict[str, Any] = {"liveness_s": 0.5, "heartbeat_s": 0.05, "retries": 1, "backoff_s": 0.01}


@pytest.fixture
def env() -> SlowEnv:
    return SlowEnv()


@pytest.fixture
def node(env: SlowEnv) -> Iterator[Node]:
    with serve(env, name="env", heartbeat_s=0.05) as served:
        yield served


@pytest.fixture
def client(node: Node) -> Iterator[Client]:
    with Client(node.address, name="tester", **FAST) as c:
        yield c


def dealer(address: str) -> zmq.Socket[Any]:
    """A bare DEALER with a fixed routing id, to send hand-made messages."""
    sock: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.setsockopt(zmq.ROUTING_ID, b"raw-dealer")
    sock.connect(address)
    return sock


@pytest.fixture
def raw(node: Node) -> Iterator[zmq.Socket[Any]]:
    sock = dealer(node.address)
    yield sock
    sock.close()


def request(seq: int, method: str, *args: Any, session: str | None = None) -> list[Any]:
    body: tuple[Any, ...] = (method, args, {}, session)
    return encode(Envelope.now("request", "raw", seq, body))


def answer(sock: zmq.Socket[Any], timeout_ms: int = 5000) -> Envelope:
    assert sock.poll(timeout_ms), "the node did not answer"
    return decode(sock.recv_multipart())


def test_a_node_finds_its_service_from_the_interface(node: Node) -> None:
    assert node.service is get_service("env")
    assert node.address.startswith("tcp://127.0.0.1:") and not node.address.endswith(":0")
    with pytest.raises(RegistryError, match="implements no bus service"):
        serve(object(), name="nothing")
    with pytest.raises(TypeError, match="cannot be served as 'critic'"):
        serve(SlowEnv(), name="x", service="critic")


def test_calls_give_the_local_results(node: Node, client: Client, env: SlowEnv) -> None:
    client.call("reset", 3)
    assert client.call("describe") == env.describe()
    assert client.call("agents") == env.agents
    features = client.call("features")
    assert np.array_equal(features, env.features()) and features.dtype == np.float32
    assert features.flags.writeable, "received arrays are the receiver's own"
    assert client.call("legal_actions", env.agents[0]) == env.legal_actions(env.agents[0])
    outcome = client.call("execute", wait_plan(env.agents))
    assert outcome.steps >= 1 and env.step_count == 1 == client.call("step_count")
    assert node.stats().replies == 7


def test_brigade_errors_keep_their_class_and_message(client: Client, env: SlowEnv) -> None:
    client.call("reset", 0)
    wrong = JointPlan((Action(env.agents[0], "WAIT"),))
    with pytest.raises(PlanError) as caught:
        client.call("execute", wrong)
    try:
        env.execute(wrong)
    except PlanError as local:
        assert str(caught.value) == str(local)
    assert isinstance(caught.value, InputError)
    with pytest.raises(PlanError, match="unknown agent 'Nobody'"):
        client.call("legal_actions", "Nobody")


def test_other_errors_arrive_as_remote_errors() -> None:
    with serve(ToyArm(), name="arm") as node, Client(node.address, **FAST) as client:
        with pytest.raises(RemoteError) as caught:
            client.call("send_action", {"joints.pos": np.zeros(2)})
        assert caught.value.node == "arm" and caught.value.remote_type == "RuntimeError"
        assert caught.value.remote_message == "the arm is not connected"


def test_error_replies_rebuild_attributes_and_ancestors() -> None:
    body = {
        "type": "SchemaVersionError",
        "message": "the peer speaks 7",
        "mro": ["SchemaVersionError", "WireError", "BusError", "InputError", "BrigadeError"],
        "attrs": {"theirs": 7, "ours": 1},
    }
    exc = raise_remote("n", body)
    assert type(exc) is SchemaVersionError and exc.theirs == 7 and str(exc) == "the peer speaks 7"
    # A plug-in's subclass of PlanError arrives as a PlanError, its name kept in the message.
    exc = raise_remote(
        "n", {"type": "MyPlanError", "message": "no", "mro": ["MyPlanError", "PlanError"]}
    )
    assert type(exc) is PlanError and str(exc) == "MyPlanError: no"
    assert type(raise_remote("n", "garbage")) is RemoteError


@pytest.mark.parametrize("name", ["__class__", "_private", "__init__", "expert_plan", "nope"])
def test_only_the_service_is_callable(name: str, node: Node, client: Client) -> None:
    with pytest.raises(RemoteError, match="is not served by this 'env' node") as caught:
        client.call(name)
    assert caught.value.remote_type == "AttributeError"
    assert client.call("agents") == ("Alice", "Bob"), "the node keeps serving"


def test_hand_made_requests_are_refused_not_run(node: Node, raw: zmq.Socket[Any]) -> None:
    bad_bodies: list[tuple[Any, ...]] = [
        ("describe",),  # not (method, args, kwargs, session)
        (b"describe", (), {}, None),  # a method name that is not a str
        ("describe", [], {}, None),  # args not a tuple
        ("agents", (1,), {}, None),  # a property called with arguments
    ]
    for seq, body in enumerate(bad_bodies, 1):
        raw.send_multipart(encode(Envelope.now("request", "raw", seq, body)))
        reply = answer(raw)
        assert reply.kind == "error" and reply.seq == seq, reply
    raw.send_multipart(request(9, "agents"))
    assert answer(raw).body == ("Alice", "Bob")


def test_a_service_refuses_private_names_when_defined() -> None:
    with pytest.raises(ValueError, match="public names only"):
        Service("bad", object, methods=frozenset({"__getattribute__"}))
    with pytest.raises(ValueError, match="public names only"):
        Service("bad", object, methods=frozenset({"ok"}), properties=frozenset({"_secret"}))


def test_a_resent_request_runs_once(node: Node, raw: zmq.Socket[Any], env: SlowEnv) -> None:
    raw.send_multipart(request(1, "reset", 0))
    assert answer(raw).kind == "reply"
    plan = wait_plan(env.agents)
    raw.send_multipart(request(2, "execute", plan))
    first = answer(raw)
    # The reply was "lost": the client sends the same request again, and again.
    raw.send_multipart(request(2, "execute", plan))
    second = answer(raw)
    raw.send_multipart(request(2, "execute", plan))
    third = answer(raw)
    assert first.body == second.body == third.body and first.seq == second.seq == 2
    assert env.executed == 1 and env.step_count == 1
    assert node.stats().resent == 2
    # An older request is ignored, never re-run.
    raw.send_multipart(request(1, "reset", 0))
    raw.send_multipart(request(3, "step_count"))
    assert answer(raw).body == 1


def test_pongs_say_what_became_of_a_request() -> None:
    slow = SlowEnv(delay_s=0.3)
    with serve(slow, name="slow", heartbeat_s=0.05) as node:
        raw = dealer(node.address)
        try:

            def ping(waiting: int | None) -> Any:
                raw.send_multipart(encode(Envelope.now("ping", "raw", 1, waiting)))
                while (message := answer(raw)).kind != "pong":
                    pass
                return message.body["request"]

            assert ping(None) is None and ping(1) == "missing"
            raw.send_multipart(request(1, "reset", 0))
            assert ping(1) == "running"
            assert ping(1) == "running"
            time.sleep(0.5)
            assert ping(1) == "answered" and ping(2) == "missing"
        finally:
            raw.close()


def test_a_request_resent_while_it_runs_is_ignored() -> None:
    slow = SlowEnv(delay_s=0.3)
    with serve(slow, name="slow", heartbeat_s=0.05) as node:
        raw = dealer(node.address)
        raw.send_multipart(request(1, "reset", 0))
        time.sleep(0.1)
        raw.send_multipart(request(1, "reset", 0))  # while it runs
        assert answer(raw).seq == 1
        assert not raw.poll(400), "a second reply came"
        assert node.stats().ignored == 1 and node.stats().replies == 1
        raw.close()


def test_pings_are_answered_while_a_long_call_runs() -> None:
    slow = SlowEnv(delay_s=1.0)
    with serve(slow, name="slow", heartbeat_s=0.05) as node:
        caller = Client(node.address, name="caller", **FAST)
        watcher = Client(node.address, name="watcher", **FAST)
        done = threading.Event()

        def call() -> None:
            caller.call("reset", 0)
            done.set()

        thread = threading.Thread(target=call)
        thread.start()
        try:
            time.sleep(0.2)
            rtts = [watcher.ping() for _ in range(5)]
            assert max(rtts) < 0.2, f"pongs took {rtts} while the call ran"
            assert watcher.health().busy == "reset"
            assert not done.is_set()
            thread.join(5)
            assert done.is_set(), "the long call (liveness 0.5 s) survived on the pongs"
            assert node.stats().takeovers >= 1
            assert caller.health().retries == 0
        finally:
            thread.join(5)
            caller.close()
            watcher.close()


def test_a_call_timeout_bounds_a_busy_node() -> None:
    slow = SlowEnv(delay_s=1.0)
    with (
        serve(slow, name="slow", heartbeat_s=0.05) as node,
        Client(node.address, name="impatient", **FAST) as client,
    ):
        start = time.monotonic()
        with pytest.raises(NodeUnavailableError, match=r"within timeout_s=0.3 s.*reset\(\)"):
            client.call("reset", 0, timeout_s=0.3)
        assert time.monotonic() - start < 0.8
        # The late reply of the abandoned call is dropped; the next call gets its own.
        assert client.call("agents", timeout_s=3.0) == ("Alice", "Bob")


def test_health_and_a_clock_offset_near_zero(client: Client) -> None:
    assert client.health().state == "unknown"
    for _ in range(20):
        client.ping()
    client.call("reset", 0)
    for _ in range(20):
        client.call("features")
    health = client.health()
    assert health.state == "ok" and health.node == "env" and health.service == "env"
    assert health.calls == 21 and health.retries == 0 and health.failures == 0
    assert health.offset_us is not None and abs(health.offset_us) < 2000, health
    assert health.rtt_us is not None and 0 < health.rtt_us < 50_000
    assert health.hops is not None and health.hops.in_node_us > 0
    assert health.last_seen_s is not None and health.last_seen_s < 1.0


def test_undecodable_messages_get_a_refusal(node: Node, raw: zmq.Socket[Any]) -> None:
    raw.send(b"junk")
    refusal = answer(raw)
    assert refusal.kind == "error" and refusal.seq == 0
    assert isinstance(raise_remote("env", refusal.body), WireError)
    raw.send(msgpack.packb([999, "request", "raw", 1, 0, 0, [], [], None]))
    exc = raise_remote("env", answer(raw).body)
    assert isinstance(exc, SchemaVersionError) and exc.theirs == 999
    raw.send_multipart([b"\x00", b"\xff" * 10, b"more"])
    assert answer(raw).kind == "error"
    raw.send_multipart(encode(bare_envelope("frobnicate", "raw", 1, None, 0, 0)))
    assert "unexpected message kind" in answer(raw).body["message"]
    assert node.stats().refused == 4
    raw.send_multipart(request(1, "agents"))
    assert answer(raw).body == ("Alice", "Bob")
    assert SCHEMA_VERSION != 999


def test_close_releases_the_port_and_is_idempotent(env: SlowEnv) -> None:
    node = serve(env, name="env")
    address = node.address
    node.close()
    node.close()
    with serve(env, name="again", address=address) as again:
        assert again.address == address
        with Client(address, **FAST) as client:
            assert client.call("agents") == env.agents


# --------------------------------------------------------------------- node conformance


@pytest.mark.parametrize(
    ("factory", "calls"),
    [
        (SlowEnv, None),
        (ConstantCritic, None),
        (CountingPolicy, [Call("reset", (1,)), Call("act", ({"state": np.ones(2)},))]),
        (DistanceProgress, [Call("compare", ({"state": np.ones(2)}, {"state": np.zeros(2)}, "g"))]),
        (ToyArm, None),
    ],
)
def test_the_node_conformance_check_passes(factory: Any, calls: list[Call] | None) -> None:
    check_node(factory, calls=calls)


def test_the_node_conformance_check_sees_pings_during_slow_calls() -> None:
    check_node(lambda: SlowEnv(delay_s=0.5), slow_call=Call("reset", (0,)), slow_s=0.5)


class _Leaky(ConstantCritic):
    """Returns what the bus cannot carry, and differs from run to run."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": {1, 2}}

    def score_joint(self, state: Any, plans: Any) -> Any:
        return Scores(np.array([time.monotonic()]))


def test_the_node_conformance_check_says_what_is_wrong() -> None:
    with pytest.raises(AssertionError, match=r"describe\(\) cannot travel on the bus"):
        check_node(_Leaky)
    state = CriticState(("Alice",), np.zeros(3, dtype=np.float32), ("Alice",))
    with pytest.raises(AssertionError, match="through the bus but"):
        check_node(_Leaky, calls=[Call("score_joint", (state, [wait_plan(("Alice",))]))])


class _Echo:
    def echo(self, value: Any) -> Any:
        return value


def test_new_services_can_be_served_and_registered() -> None:
    echo = Service("echo-test", _Echo, methods=frozenset({"echo"}), read_only=frozenset({"echo"}))
    with serve(_Echo(), name="echo", service=echo) as node, Client(node.address, **FAST) as client:
        assert client.call("echo", {"a": (1, 2.5, b"x")}) == {"a": (1, 2.5, b"x")}
    register_service(echo)
    try:
        assert get_service("echo-test") is echo and service_for(_Echo()) is echo
        with pytest.raises(RegistryError, match="already registered"):
            register_service(echo)
        with pytest.raises(RegistryError, match="did you mean 'echo-test'"):
            get_service("echo-tset")
    finally:
        assert unregister_service("echo-test") is echo
    assert "echo-test" not in services()


def test_a_node_never_binds_other_hosts_without_keys() -> None:
    threads = threading.active_count()
    with pytest.raises(SecurityError, match="without CURVE keys"):
        serve(SlowEnv(), name="exposed", address="tcp://0.0.0.0:0")
    assert threading.active_count() == threads, "nothing was left running"


def test_close_does_not_wait_forever_for_a_long_call() -> None:
    slow = SlowEnv(delay_s=1.5)
    node = serve(slow, name="slow", heartbeat_s=0.05)
    errors: list[BaseException] = []
    client = Client(node.address, **FAST)

    def call() -> None:
        try:
            client.call("reset", 0)
        except NodeUnavailableError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    try:
        assert until_busy(node)
        start = time.monotonic()
        node.close(timeout_s=0.2)
        assert time.monotonic() - start < 1.0 and node.closed
        with serve(SlowEnv(), name="next", address=node.address) as again:
            assert again.address == node.address, "the port was released"
        thread.join(10)
        assert len(errors) == 1, "the caller learns the node is gone"
    finally:
        thread.join(10)
        client.close()


def until_busy(node: Node, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while node.busy is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True

"""A fuzz run of the decoder: whatever arrives, decode raises a WireError or returns a message.

Hostile or broken input (random bytes, valid messages with flipped bits, cut or
inserted bytes, dropped or repeated frames, headers re-packed with random values)
must never raise another exception type, crash or hang the node. A message that
is accepted must survive a round trip unchanged.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import msgpack
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brigade.action import Action
from brigade.bus.codec import decode_value
from brigade.bus.wire import Envelope, decode, encode
from brigade.chat import ChatRequest, Message, SamplingParams
from brigade.errors import WireError
from brigade.plan import JointPlan, Outcome
from tests.bus.test_codec import assert_same

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW_DECODE_S = 0.5  # a decode this slow on tiny input would be a hang in the making


def check_decoder(frames: list[Any]) -> None:
    """Decode; only WireError may escape; an accepted message must round-trip."""
    start = time.perf_counter()
    try:
        env = decode(frames)
    except WireError:
        return
    finally:
        assert time.perf_counter() - start < SLOW_DECODE_S, "the decoder is too slow"
    try:
        again = encode(env)
    except WireError:  # e.g. a float32 in the header re-encodes as a larger float64
        return
    back = decode(again)
    assert (back.kind, back.sender, back.seq) == (env.kind, env.sender, env.seq)
    assert_same(env.trace, back.trace)  # bit-exact, NaN included (NaN != NaN under ==)
    assert_same(env.body, back.body)


def _valid_messages() -> list[list[bytes]]:
    rng = np.random.default_rng(1)
    bob, alice = Action("Bob", "PICK", ("banana",)), Action("Alice", "WAIT")
    bodies: list[Any] = [
        None,
        {"method": "act", "args": [1, 2.5, "x"], "kw": {"seed": 3}},
        [bob, (1, (2, [3])), np.float32(1.5), b"raw", {7: None}],
        {"img": rng.integers(0, 256, (4, 5, 3), dtype=np.uint8), "q": np.arange(3, dtype=">f8")},
        JointPlan((alice, bob), paths={"Bob": ((0.0, 1.0, 2.0),)}),
        Outcome(
            0.5, False, True, False, 4, ("blocked",), np.zeros((1, 2, 2, 3), np.uint8), {"n": 1}
        ),
        ChatRequest("m", (Message("user", "hi"),), SamplingParams(stop=("\n",), seed=2)),
        [np.array(True), np.zeros((0, 2)), np.array([1 + 2j], dtype=np.complex64)],
    ]
    return [
        [bytes(f) for f in encode(Envelope("request", "node", i, body, 10, 20, (("hop", 5),)))]
        for i, body in enumerate(bodies)
    ]


VALID = _valid_messages()

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.integers(-2, 7),  # small ints: the node tags and array indices
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=16),
    st.sampled_from(["Action", "JointPlan", "Message", "Acton", "<f8", "|u1", "O", "|V8"]),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
)
# Trees that look like bodies: many lists start with a plausible tag.
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.builds(
            lambda tag, rest: [tag, *rest], st.integers(-1, 6), st.lists(children, max_size=4)
        ),
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.integers(-3, 3), st.floats()), children, max_size=3
        ),
    ),
    max_leaves=12,
)
SPECS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["<f8", "|u1", ">i4", "|b1", "<c16", "O", "x"]),
            st.lists(st.integers(-2, 9), max_size=3),
        ).map(list),
        TREES,
    ),
    max_size=3,
)
HEADER_FIELDS = {
    0: st.one_of(st.just(1), st.integers(-2, 3), st.text(max_size=3), TREES),
    1: st.one_of(st.sampled_from(["reply", "", "a b", "ping"]), TREES),
    2: st.one_of(st.text(max_size=10), TREES),
    3: st.one_of(st.integers(-(2**63), 2**64 - 1), TREES),
    4: st.one_of(st.integers(-(2**63), 2**64 - 1), TREES),
    5: st.one_of(st.integers(-(2**63), 2**64 - 1), TREES),
    6: st.one_of(st.lists(st.lists(LEAVES, max_size=3), max_size=3), TREES),
    7: SPECS,
    8: TREES,
}


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    frames: list[Any] = list(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(["flip", "cut", "insert", "drop", "repeat", "swap", "field", "field"])
        )
        if not frames:
            frames.append(draw(st.binary(max_size=16)))
            continue
        i = draw(st.integers(0, len(frames) - 1))
        frame = frames[i]
        if op == "flip" and frame:
            pos = draw(st.integers(0, len(frame) - 1))
            changed = bytearray(frame)
            changed[pos] ^= 1 << draw(st.integers(0, 7))
            frames[i] = bytes(changed)
        elif op == "cut":
            frames[i] = frame[: draw(st.integers(0, len(frame)))]
        elif op == "insert":
            pos = draw(st.integers(0, len(frame)))
            frames[i] = frame[:pos] + draw(st.binary(min_size=1, max_size=8)) + frame[pos:]
        elif op == "drop":
            del frames[i]
        elif op == "repeat":
            frames.insert(draw(st.integers(0, len(frames))), frame)
        elif op == "swap":
            j = draw(st.integers(0, len(frames) - 1))
            frames[i], frames[j] = frames[j], frames[i]
        elif op == "field":
            try:
                fields = msgpack.unpackb(frames[0], raw=False, strict_map_key=False)
            except Exception:
                continue
            if type(fields) is list and fields:
                k = draw(st.integers(0, len(fields) - 1))
                fields[k] = draw(HEADER_FIELDS.get(k, TREES))
                frames[0] = msgpack.packb(fields)
    return frames


def test_the_valid_messages_decode() -> None:
    for frames in VALID:
        check_decoder(frames)


@settings(FUZZ, max_examples=2000)
@given(mutated())
def test_mutated_messages_raise_only_wire_errors(frames: list[Any]) -> None:
    check_decoder(frames)


@settings(FUZZ, max_examples=400)
@given(st.lists(st.binary(max_size=64), max_size=4))
def test_random_bytes_raise_only_wire_errors(frames: list[bytes]) -> None:
    check_decoder(frames)


@settings(FUZZ, max_examples=600)
@given(
    st.fixed_dictionaries({k: v for k, v in HEADER_FIELDS.items() if k != 0}),
    st.lists(st.binary(max_size=24), max_size=3),
)
def test_random_headers_raise_only_wire_errors(fields: dict[int, Any], arrays: list[bytes]) -> None:
    header = [1, *(fields[k] for k in range(1, 9))]
    check_decoder([msgpack.packb(header), *arrays])


@settings(FUZZ, max_examples=600)
@given(
    TREES,
    st.lists(
        st.sampled_from([np.zeros(2), np.zeros(3, np.uint8), np.ones((1, 2), bool)]), max_size=2
    ),
)
def test_random_body_trees_raise_only_wire_errors(tree: Any, arrays: list[np.ndarray]) -> None:
    start = time.perf_counter()
    with contextlib.suppress(WireError):
        decode_value(tree, arrays)
    assert time.perf_counter() - start < SLOW_DECODE_S

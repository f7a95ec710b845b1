"""The bus's fast paths agree with its general paths (issue 6, part 4: speed).

Small messages take shortcuts: the codec handles shallow values (a request's
``(method, args, kwargs, session)``, a shape, a pong) without its general walk,
``encode_message`` skips the Envelope, ``decode`` checks the usual header in one
expression, the node and client send and receive frames without pyzmq's multipart
helpers. Each shortcut must give exactly what the general path gives, accept and
refuse the same input, and leave what it gives up on untouched for the general path.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.bus import codec
from brigade.bus.client import Client
from brigade.bus.codec import MAX_DEPTH, MAX_ITEMS, decode_value, encode_value, wire_text
from brigade.bus.node import serve
from brigade.bus.protocol import recv_rest, reply_frames, send_frames
from brigade.bus.wire import (
    DEFAULT_LIMITS,
    Envelope,
    Limits,
    bare_envelope,
    decode,
    encode,
    encode_message,
)
from brigade.errors import WireError
from tests.bus.procs import SlowEnv
from tests.bus.test_codec import ARRAYS, SCALARS, TREES, assert_same
from tests.bus.test_wire_fuzz import TREES as RAW_TREES

# ---------------------------------------------------------------- the codec


def general_encode(value: Any, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> Any:
    """The general encoder alone: (tree, arrays), or the refusal's message."""
    arrays: list[np.ndarray] = []
    try:
        return codec._Encoder(arrays, max_depth, max_items).enc(value, 0), arrays
    except codec._Fail as fail:
        return fail.message


def general_decode(tree: Any, arrays: list[np.ndarray], max_depth: int = MAX_DEPTH) -> Any:
    """decode_value through the general decoder alone."""
    used = [False] * len(arrays)
    value = codec._Decoder(arrays, used, max_depth, MAX_ITEMS).dec(tree, 0)
    if not all(used):
        raise WireError("unused arrays")
    return value


def outcome(function: Any, *args: Any, **kwargs: Any) -> Any:
    """("ok", value) or ("refused", the error class)."""
    try:
        return "ok", function(*args, **kwargs)
    except (WireError, codec._Fail) as exc:
        return "refused", type(exc).__name__


# The values that are their own tree.
PLAIN = SCALARS
KEYS = st.one_of(st.text(max_size=4), st.integers(-(2**63), 2**64 - 1))
FLAT = st.one_of(
    st.lists(st.one_of(PLAIN, ARRAYS), max_size=4),
    st.lists(st.one_of(PLAIN, ARRAYS), max_size=4).map(tuple),
    st.dictionaries(KEYS, PLAIN, max_size=3),
    ARRAYS,
    st.just({}),
)
# Values the shortcuts take: a container of plain values and of flat containers.
SHALLOW = st.one_of(
    st.lists(st.one_of(PLAIN, FLAT), max_size=5),
    st.lists(st.one_of(PLAIN, FLAT), max_size=5).map(tuple),
    st.dictionaries(KEYS, st.one_of(PLAIN, FLAT), max_size=4),
    st.builds(
        lambda method, args, session: (method, tuple(args), {}, session),
        st.text(max_size=8),
        st.lists(st.one_of(PLAIN, ARRAYS), max_size=3),
        st.one_of(st.none(), st.text(max_size=16)),
    ),
)


def packed(tree: Any) -> bytes:
    return msgpack.packb(tree, use_bin_type=True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(SHALLOW, TREES))
def test_encoding_matches_the_general_encoder(value: Any) -> None:
    fast = outcome(encode_value, value)
    general = general_encode(value)
    if isinstance(general, str):
        assert fast == ("refused", "WireError")
        return
    assert fast[0] == "ok"
    tree, arrays = fast[1]
    assert packed(tree) == packed(general[0])
    assert len(arrays) == len(general[1])
    for a, b in zip(arrays, general[1]):
        assert_same(b, a)


@settings(max_examples=200, deadline=None)
@given(SHALLOW)
def test_shallow_values_take_the_shortcut_and_round_trip(value: Any) -> None:
    arrays: list[np.ndarray] = []
    tree = codec._shallow_out(value, arrays, MAX_ITEMS)
    assert tree is not codec._DEEP
    wire_tree = msgpack.unpackb(packed(tree), raw=False, strict_map_key=False)
    used = [False] * len(arrays)
    back = codec._shallow_in(wire_tree, arrays, used, MAX_ITEMS)
    assert back is not codec._DEEP and all(used)
    assert_same(value, back)


@settings(max_examples=500, deadline=None)
@given(
    RAW_TREES,
    st.lists(st.sampled_from([np.zeros(2), np.arange(3, dtype=np.uint8)]), max_size=2),
    st.sampled_from([MAX_DEPTH, 2, 1]),
)
def test_decoding_matches_the_general_decoder(
    tree: Any, arrays: list[np.ndarray], max_depth: int
) -> None:
    # Any tree a peer may send, well-formed or not: the same value or the same refusal.
    fast = outcome(decode_value, copy.deepcopy(tree), arrays, max_depth=max_depth)
    general = outcome(general_decode, copy.deepcopy(tree), arrays, max_depth)
    assert fast[0] == general[0]
    if fast[0] == "ok":
        assert_same(general[1], fast[1])


@settings(max_examples=300, deadline=None)
@given(RAW_TREES, st.lists(st.just(np.zeros(2)), max_size=2))
def test_the_shallow_decoder_leaves_what_it_gives_up_on_untouched(
    tree: Any, arrays: list[np.ndarray]
) -> None:
    before = copy.deepcopy(tree)
    used = [False] * len(arrays)
    if type(tree) in (list, dict):
        codec._shallow_in(tree, arrays, used, MAX_ITEMS)
    assert packed(tree) == packed(before)  # (the general decoder may still need it)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, [2, [3]]), "deep"),  # three levels: the general path
        ([np.zeros(2, dtype=object)], "deep"),  # a refused dtype: the general path refuses
        ({"k": (1, 2**64)}, "deep"),  # an int beyond 64 bits: the same
        ({1.5: 2}, "deep"),  # a float key: the same
        ((b"x" * (codec.BYTES_INLINE_MAX + 1),), "deep"),  # big bytes travel as a frame
        (("echo", (b"x" * 64,), {}, None), "shallow"),
        (("take", (np.zeros((4, 3)),), {}, "abc"), "shallow"),
        ({"instance": "a", "echo": (1, 2), "busy": None}, "shallow"),
    ],
)
def test_what_takes_the_shortcut(value: Any, expected: str) -> None:
    tree = codec._shallow_out(value, [], MAX_ITEMS)
    assert (tree is codec._DEEP) == (expected == "deep")


def test_the_bounds_hold_on_the_shortcuts() -> None:
    too_many = tuple(range(11))
    with pytest.raises(WireError, match="11 elements"):
        encode_value((1, too_many), max_items=10)
    with pytest.raises(WireError, match="nesting deeper"):
        encode_value((1, (2,)), max_depth=1)
    with pytest.raises(WireError, match="11 elements"):
        decode_value([1, [1, *range(11)]], [], max_items=10)
    with pytest.raises(WireError, match="nesting deeper"):
        decode_value([1, [1, 2]], [], max_depth=1)
    with pytest.raises(WireError, match="never referred to"):
        decode_value([1, "x"], [np.zeros(1)])
    with pytest.raises(WireError, match="referred to twice"):
        decode_value([1, [3, 0], [1, [3, 0]]], [np.zeros(1)])


def test_wire_text_is_the_dtype_string_of_accepted_dtypes() -> None:
    for dtype in ("<f8", ">i4", "|u1", "|b1", "<c16", "<f2"):
        assert wire_text(np.dtype(dtype)) == np.dtype(dtype).str
    for refused in ("O", "<U3", "|V8", "<M8[s]"):
        assert wire_text(np.dtype(refused)) is None


# ---------------------------------------------------------------- the wire

NAMES = st.text(min_size=1, max_size=12)
FIELDS = st.tuples(
    st.sampled_from(["request", "reply", "error", "ping", "pong", "telemetry"]),
    NAMES,
    st.integers(0, 2**64 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.lists(st.tuples(NAMES, st.integers(0, 2**63 - 1)), max_size=3).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(FIELDS, st.one_of(SHALLOW, TREES))
def test_encode_message_is_encode_of_the_envelope(fields: Any, body: Any) -> None:
    kind, sender, seq, t_mono, t_wall, trace = fields
    fast = outcome(encode_message, kind, sender, seq, body, t_mono, t_wall, trace)
    general = outcome(encode, Envelope(kind, sender, seq, body, t_mono, t_wall, trace))
    assert fast[0] == general[0]
    if fast[0] == "refused":
        return
    assert [bytes(f) for f in fast[1]] == [bytes(f) for f in general[1]]
    tree = general_encode(body)
    assert not isinstance(tree, str)
    specs = [[a.dtype.str, list(a.shape)] for a in tree[1]]
    by_hand = [1, kind, sender, seq, t_mono, t_wall, [list(e) for e in trace], specs, tree[0]]
    # The fast header is the general tree, packed (by hand here: the same bytes).
    assert bytes(fast[1][0]) == packed(by_hand)
    back = decode([bytes(f) for f in fast[1]])
    assert (back.kind, back.sender, back.seq, back.t_mono_ns) == (kind, sender, seq, t_mono)
    assert back.trace == trace
    assert_same(body, back.body)


def test_a_checked_trace_still_has_its_number_of_entries_checked() -> None:
    limits = Limits(max_trace=2)
    trace = (("a", 1), ("b", 2), ("c", 3))
    with pytest.raises(WireError, match="at most 2"):
        encode_message("reply", "n", 1, None, 0, 0, trace, limits, checked_trace=True)
    with pytest.raises(WireError, match="holds"):
        encode_message("reply", "n", 1, None, 0, 0, ((object(),),))  # type: ignore[arg-type]


def test_reply_frames_check_the_hop_they_add() -> None:
    request = bare_envelope("request", "client", 3, None, 0, 0, (("proxy", 5),))
    frames = reply_frames("reply", request, 7, "node", "abc", 10, 20, 30, DEFAULT_LIMITS)
    reply = decode(frames)
    assert reply.trace == (("proxy", 5), ("node", "abc", 10, 20)) and reply.body == 7
    with pytest.raises(WireError, match="trace"):  # an instance id too long for the wire
        reply_frames("reply", request, 7, "node", "x" * 300, 10, 20, 30, DEFAULT_LIMITS)
    with pytest.raises(WireError, match="trace"):  # a receive time beyond 64 bits
        reply_frames("reply", request, 7, "node", "abc", 2**64, 20, 30, DEFAULT_LIMITS)


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket[Any], zmq.Socket[Any]]]:
    context = zmq.Context.instance()
    router, dealer = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.setsockopt(zmq.ROUTING_ID, b"me")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    yield router, dealer
    router.close(linger=0)
    dealer.close(linger=0)


def test_send_frames_and_recv_rest_carry_whole_messages(
    pair: tuple[zmq.Socket[Any], zmq.Socket[Any]],
) -> None:
    router, dealer = pair
    image = np.arange(480 * 640 * 3, dtype=np.uint8).reshape(480, 640, 3)  # zero-copy size
    small = np.arange(5, dtype=">f8")
    frames = encode(Envelope.now("request", "me", 1, ("take", (image, small), {}, None)))
    assert len(frames) == 3
    send_frames(dealer, frames, zmq.NOBLOCK)
    assert router.poll(5000)
    identity = router.recv()
    head = router.recv(copy=False)
    got: list[Any] = [head.bytes]
    assert head.more
    recv_rest(router, got)
    assert identity == b"me" and len(got) == 3 and isinstance(got[1], zmq.Frame)
    message = decode(got, writable=True)
    _, (back_image, back_small), _, _ = message.body
    assert_same(image, back_image)
    assert_same(small, back_small)
    assert back_image.flags.writeable and not np.shares_memory(back_image, image)
    assert not decode(got).body[1][0].flags.writeable  # (read-only unless asked)

    reply = encode_message("reply", "node", 1, "ok", 0, 0)
    send_frames(router, reply, 0, identity)
    assert dealer.poll(5000)
    only = dealer.recv(copy=False)
    assert not only.more and decode([only.bytes]).body == "ok"


def test_decoded_arrays_over_bytes_stay_read_only_even_when_writable_is_asked() -> None:
    frames = encode(Envelope.now("reply", "n", 1, np.arange(4)))
    array = decode([bytes(f) for f in frames], writable=True).body
    assert not array.flags.writeable


def test_send_frames_raises_again_only_for_the_first_frame() -> None:
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    try:
        frames = encode(Envelope.now("request", "me", 1, np.zeros(3)))
        with pytest.raises(zmq.Again):  # no peer: nothing can be queued
            send_frames(dealer, frames, zmq.NOBLOCK)
    finally:
        dealer.close(linger=0)


# ---------------------------------------------------------------- node and client


def test_a_burst_of_requests_is_answered_one_message_at_a_time() -> None:
    # The node handles one message per poll: a burst still gets every reply, in order.
    with serve(SlowEnv(), name="env") as node:
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.connect(node.address)
        try:
            for seq in range(1, 101):
                body = ("reset", (seq,), {}, None) if seq == 1 else ("step_count", (), {}, None)
                dealer.send_multipart(encode(Envelope.now("request", "raw", seq, body)))
            seqs = []
            deadline = time.monotonic() + 10
            while len(seqs) < 100 and time.monotonic() < deadline:
                if dealer.poll(1000):
                    seqs.append(decode(dealer.recv_multipart()).seq)
            assert seqs == list(range(1, 101))
            assert node.stats().replies == 100
        finally:
            dealer.close(linger=0)


def test_arrays_in_and_out_of_a_node_are_writable_and_exact() -> None:
    class Arrays:
        def echo(self, value: Any) -> Any:
            assert value[0].flags.writeable, "a node's component gets writable arrays"
            return value

    from brigade.bus.services import Service

    service = Service(name="test-arrays", interface=Arrays, methods={"echo"})
    value = (np.arange(12.0).reshape(3, 4), [np.zeros(2, dtype="<c8")], {"k": np.ones(3, bool)})
    with serve(Arrays(), name="arrays", service=service) as node, Client(node.address) as client:
        back = client.call("echo", value)
        assert_same(value, back)
        assert back[0].flags.writeable and back[1][0].flags.writeable

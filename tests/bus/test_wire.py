"""The wire format: header fields, bounds, schema versions, frames, zero-copy, real sockets."""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from brigade.action import Action
from brigade.bus.wire import (
    DEFAULT_LIMITS,
    SCHEMA_VERSION,
    Envelope,
    Limits,
    decode,
    encode,
    zmq_max_msg_size,
)
from brigade.errors import BusError, MessageTooLargeError, SchemaVersionError, WireError
from brigade.plan import Outcome
from tests.bus.test_codec import assert_same

# The header is [version, kind, sender, seq, t_mono_ns, t_wall_ns, trace, arrays, body].
VERSION, KIND, SENDER, SEQ, T_MONO, T_WALL, TRACE, ARRAYS, BODY = range(9)


def message(body: Any = None, **fields: Any) -> Envelope:
    values: dict[str, Any] = {"kind": "request", "sender": "planner-0", "seq": 7}
    values.update(t_mono_ns=123, t_wall_ns=456, trace=())
    values.update(fields)
    return Envelope(body=body, **values)


def frames_of(body: Any = None, **fields: Any) -> list[bytes]:
    return [bytes(f) for f in encode(message(body, **fields))]


def header(frames: list[bytes]) -> list[Any]:
    result: list[Any] = msgpack.unpackb(frames[0], raw=False, strict_map_key=False)
    return result


def repack(frames: list[bytes], **changes: Any) -> list[bytes]:
    """The same message with header fields replaced (by name: kind=..., arrays=...)."""
    fields = header(frames)
    for name, value in changes.items():
        fields[globals()[name.upper()]] = value
    return [msgpack.packb(fields), *frames[1:]]


def refused(frames: list[Any], error: type[Exception] = WireError, **limits: int) -> str:
    with pytest.raises(error) as info:
        decode(frames, Limits(**limits) if limits else DEFAULT_LIMITS)
    return str(info.value)


# ---------------------------------------------------------------- round trips


def test_every_header_field_round_trips() -> None:
    sent = Envelope(
        kind="telemetry.arm-1",
        sender="node/été",
        seq=2**64 - 1,
        body={"joints": [0.1, 0.2]},
        t_mono_ns=-5,
        t_wall_ns=2**63 - 1,
        trace=(("planner", 1_700_000_000_000_000_000), ("bus", 3, 1.5, True)),
    )
    got = decode(encode(sent))
    assert got == sent
    assert type(got.trace) is tuple and all(type(entry) is tuple for entry in got.trace)


def test_the_header_is_a_compact_array_led_by_the_schema_version() -> None:
    frames = frames_of(Action("Bob", "PICK", ("banana",)))
    fields = header(frames)
    assert fields[VERSION] == SCHEMA_VERSION == 1
    assert fields[KIND] == "request" and fields[SEQ] == 7
    assert fields[BODY] == [2, "Action", "Bob", "PICK", [1, "banana"]]
    assert len(frames[0]) < 64


def test_arrays_travel_as_frames_with_dtype_and_shape_in_the_header() -> None:
    image = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    joints = np.array([0.5, 1.5], dtype=">f8")
    frames = frames_of({"image": image, "joints": joints})
    assert len(frames) == 3
    assert header(frames)[ARRAYS] == [["|u1", [2, 3, 4]], [">f8", [2]]]
    assert frames[1] == image.tobytes() and frames[2] == joints.tobytes()
    body = decode(frames).body
    assert_same({"image": image, "joints": joints}, body)


def test_now_stamps_both_clocks_and_with_hop_appends_to_the_trace() -> None:
    before_mono, before_wall = time.monotonic_ns(), time.time_ns()
    env = Envelope.now("ping", "a", 1)
    assert before_mono <= env.t_mono_ns <= time.monotonic_ns()
    assert before_wall <= env.t_wall_ns <= time.time_ns()
    hopped = env.with_hop("relay", 42).with_hop("server")
    assert hopped.trace[0] == ("relay", 42) and hopped.trace[1][0] == "server"
    assert env.trace == () and decode(encode(hopped)).trace == hopped.trace


def test_an_envelope_is_frozen() -> None:
    env = message()
    with pytest.raises(AttributeError):
        env.seq = 8  # type: ignore[misc]


# ---------------------------------------------------------------- zero-copy


def test_array_frames_share_memory_with_the_source_array() -> None:
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    frames = encode(message({"image": image}))
    assert isinstance(frames[1], memoryview) and frames[1].nbytes == image.nbytes
    assert np.shares_memory(np.frombuffer(frames[1], dtype=np.uint8), image)


def test_decoded_arrays_are_read_only_views_over_the_received_frames() -> None:
    frames: list[Any] = frames_of(np.arange(4, dtype=np.int32))
    buffer = bytearray(frames[1])  # a writable buffer, as a zmq.Frame is
    frames[1] = buffer
    array = decode(frames).body
    assert np.shares_memory(array, np.frombuffer(buffer, dtype=np.uint8))
    assert not array.flags.writeable
    buffer[0] = 9  # the view sees the frame's memory
    assert array[0] == 9


def test_in_process_decode_cannot_write_through_to_the_sender() -> None:
    source = np.arange(3.0)
    back = decode(encode(message(source))).body
    with pytest.raises(ValueError):
        back[0] = 5.0
    assert source[0] == 0.0


def test_frames_sent_and_received_by_real_zmq_sockets_decode() -> None:
    outcome = Outcome(
        reward=1.0,
        terminated=False,
        truncated=False,
        success=True,
        steps=3,
        frames=np.random.default_rng(0).integers(0, 256, (2, 480, 640, 3), dtype=np.uint8),
        info={"agents": 2},
    )
    sent = Envelope.now("reply", "env-node", 3, {"outcome": outcome, "small": np.arange(3)})
    context = zmq.Context()
    left, right = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    try:
        address = f"inproc://wire-{uuid.uuid4().hex}"
        right.setsockopt(zmq.MAXMSGSIZE, zmq_max_msg_size())
        left.bind(address)
        right.connect(address)
        left.send_multipart(encode(sent), copy=False)
        assert right.poll(5000), "nothing arrived"
        frames = right.recv_multipart(copy=False)
        assert all(isinstance(f, zmq.Frame) for f in frames)
        got = decode(frames)
    finally:
        left.close(linger=0)
        right.close(linger=0)
        context.term()
    assert (got.kind, got.sender, got.seq, got.t_wall_ns) == (
        "reply",
        "env-node",
        3,
        sent.t_wall_ns,
    )
    assert_same(sent.body, got.body)


def test_zmq_max_msg_size_covers_the_largest_frame() -> None:
    assert zmq_max_msg_size() == 64 << 20
    assert zmq_max_msg_size(Limits(max_header_bytes=10 << 20, max_frame_bytes=1 << 20)) == 10 << 20


# ---------------------------------------------------------------- schema versions


def test_a_peer_with_another_schema_version_is_refused_clearly() -> None:
    with pytest.raises(SchemaVersionError) as info:
        decode(repack(frames_of("hi"), version=2))
    assert info.value.theirs == 2 and info.value.ours == 1
    assert "version 2" in str(info.value) and "speaks 1" in str(info.value)


@pytest.mark.parametrize(
    "head",
    [
        msgpack.packb([2, {"new": "format"}]),  # another layout altogether
        msgpack.packb([3]) + b"\xc1",  # and then bytes this release cannot parse
        b"\x95\x02\xc1\xc1",  # version 2, then garbage inside the array
        msgpack.packb(["2.0", "x"]),
    ],
)
def test_the_version_is_read_before_the_rest_of_the_header(head: bytes) -> None:
    with pytest.raises(SchemaVersionError):
        decode([head])


def test_a_header_that_is_not_versioned_is_a_plain_wire_error() -> None:
    assert "must be a msgpack array" in refused([msgpack.packb({"version": 1})])
    assert "must be a msgpack array" in refused([msgpack.packb([])])
    assert "schema version, must be an int" in refused([msgpack.packb([None, 1])])
    assert "schema version, must be an int" in refused([msgpack.packb([True, 1])])


# ---------------------------------------------------------------- bounds


def test_oversized_messages_are_refused_by_the_sender() -> None:
    with pytest.raises(MessageTooLargeError, match="max_header_bytes"):
        encode(message("x" * 2000), Limits(max_header_bytes=1000))
    with pytest.raises(MessageTooLargeError, match="max_frame_bytes"):
        encode(message(np.zeros(200)), Limits(max_frame_bytes=1000))
    with pytest.raises(MessageTooLargeError, match="array frames"):
        encode(message([np.zeros(1)] * 4), Limits(max_frames=4))
    with pytest.raises(MessageTooLargeError, match="max_message_bytes"):
        encode(message([np.zeros(100)] * 3), Limits(max_message_bytes=2000))
    encode(message([np.zeros(1)] * 3), Limits(max_frames=4))  # exactly at the bound


def test_oversized_messages_are_refused_by_the_receiver() -> None:
    assert "max_header_bytes" in refused(
        frames_of("x" * 2000), MessageTooLargeError, max_header_bytes=1000
    )
    assert "max_frames" in refused(frames_of([np.zeros(1)] * 4), MessageTooLargeError, max_frames=4)
    big = frames_of(np.zeros(200))
    assert "max_frame_bytes" in refused(big, MessageTooLargeError, max_frame_bytes=1000)
    many = frames_of([np.zeros(100)] * 3)
    assert "max_message_bytes" in refused(many, MessageTooLargeError, max_message_bytes=2000)


def test_a_huge_declared_shape_is_refused_before_numpy_sees_it() -> None:
    frames = frames_of(np.zeros((0, 3)))
    message_text = refused(repack(frames, arrays=[["<f8", [0, 2**62]]]), MessageTooLargeError)
    assert "header.arrays[0]" in message_text
    assert "at most 32 sizes" in refused(repack(frames, arrays=[["<f8", [1] * 33]]))


def test_nesting_and_container_limits_apply_to_received_bodies() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = [0, deep]
    assert "nesting deeper than 32" in refused(repack(frames_of(), body=deep))
    assert "5 elements" in refused(frames_of(list(range(5))), max_items=4)


def test_msgpack_extension_types_are_refused() -> None:
    fields = header(frames_of())
    fields[BODY] = msgpack.Timestamp(1, 0)
    assert "unexpected msgpack value of type Timestamp" in refused([msgpack.packb(fields)])
    fields[BODY] = msgpack.ExtType(5, b"data")
    assert "unexpected msgpack value of type ExtType" in refused([msgpack.packb(fields)])


def test_a_header_nested_beyond_msgpack_s_stack_is_a_wire_error() -> None:
    assert "not valid msgpack" in refused([b"\x91" * 5000 + b"\x00"])


def test_wire_errors_are_bus_errors() -> None:
    assert issubclass(WireError, BusError)
    assert issubclass(MessageTooLargeError, WireError)
    assert issubclass(SchemaVersionError, WireError)


# ---------------------------------------------------------------- malformed frames


def test_no_frames_at_all() -> None:
    assert "no header" in refused([])


@pytest.mark.parametrize("head", [b"", b"\xc1", b"\x99\x01", msgpack.packb([1]) + b"\x00"])
def test_a_header_that_is_not_msgpack(head: bytes) -> None:
    assert "not valid msgpack" in refused([head])


def test_a_header_with_the_wrong_number_of_fields() -> None:
    assert "has 8 fields" in refused([msgpack.packb(header(frames_of())[:8])])


def test_a_frame_whose_length_does_not_match_dtype_and_shape() -> None:
    frames = frames_of(np.zeros((2, 3), dtype=np.float32))
    short = [frames[0], frames[1][:-1]]
    text = refused(short)
    assert "frame 1 has 23 bytes" in text and "takes 24" in text
    assert "frame 1 has 25 bytes" in refused([frames[0], frames[1] + b"\x00"])


def test_missing_and_extra_frames() -> None:
    frames = frames_of([np.zeros(2), np.ones(3)])
    assert "describe the 1 array frames sent, but holds 2" in refused(frames[:2])
    assert "describe the 3 array frames sent, but holds 2" in refused([*frames, b""])


@pytest.mark.parametrize("dtype", ["O", "|O", "|V8", "<U3", "garbage", "<M8[s]", "<f3", 8, None])
def test_bad_dtype_strings(dtype: Any) -> None:
    frames = frames_of(np.zeros(1))
    text = refused(repack(frames, arrays=[[dtype, [8]]]))
    assert "header.arrays[0]" in text and "refused" in text


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (["<f8", [-1]], "non-negative"),
        (["<f8", [1.0]], "non-negative ints"),
        (["<f8", 1], "list of at most"),
        (["<f8"], "[dtype, shape]"),
        ("<f8", "[dtype, shape]"),
    ],
)
def test_bad_shapes_and_specs(spec: Any, expected: str) -> None:
    assert expected in refused(repack(frames_of(np.zeros(1)), arrays=[spec]))


def test_array_specs_must_be_a_list() -> None:
    assert "header.arrays must describe" in refused(repack(frames_of(), arrays={"a": 1}))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("kind", 5, "header.kind must be"),
        ("kind", "", "header.kind must be"),
        ("kind", "two words", "header.kind must be"),
        ("kind", "réponse", "header.kind must be"),
        ("kind", "k" * 33, "header.kind must be"),
        ("kind", [[1]], "header.kind must be"),
        ("sender", None, "header.sender must be"),
        ("sender", "n" * 257, "header.sender must be"),
        ("seq", -1, "header.seq must be"),
        ("seq", "1", "header.seq must be"),
        ("seq", True, "header.seq must be"),
        ("t_mono", 2**63, "header.t_mono_ns must be"),
        ("t_wall", 1.5, "header.t_wall_ns must be"),
        ("trace", {}, "header.trace must be"),
        ("trace", [["a", 1]] * 65, "header.trace has 65 entries"),
        ("trace", [[]], "header.trace[0] must be"),
        ("trace", ["ab"], "header.trace[0] must be"),
        ("trace", [["a", [1]]], "header.trace[0] holds"),
        ("trace", [["x" * 300]], "header.trace[0] holds"),
    ],
)
def test_header_fields_of_the_wrong_type_are_refused(field: str, value: Any, expected: str) -> None:
    assert expected in refused(repack(frames_of(), **{field: value}))


def test_a_body_that_refers_to_a_missing_or_unused_frame() -> None:
    frames = frames_of(np.zeros(1))
    assert "does not exist" in refused(repack(frames, body=[3, 1]))
    assert "never referred to" in refused(repack(frames, body=None))
    assert "referred to twice" in refused(repack(frames, body=[0, [3, 0], [3, 0]]))


def test_frames_that_are_not_buffers_or_not_contiguous() -> None:
    frames: list[Any] = frames_of(np.zeros(2))
    assert "frame 1 is of type str" in refused([frames[0], "text"])
    strided = np.zeros(4).data[::2]
    assert "not a contiguous buffer" in refused([frames[0], strided])
    assert "frame 0 is of type int" in refused([5])


def test_a_typed_memoryview_frame_is_read_as_bytes() -> None:
    source = np.arange(3, dtype=np.float64)
    frames: list[Any] = frames_of(source)
    frames[1] = memoryview(source.copy())  # format 'd', as an in-process sender gives
    assert_same(source, decode(frames).body)


# ---------------------------------------------------------------- the sender's checks


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": ""}, "envelope.kind"),
        ({"kind": "with space"}, "envelope.kind"),
        ({"kind": "réponse"}, "envelope.kind"),
        ({"sender": 5}, "envelope.sender"),
        ({"seq": -1}, "envelope.seq"),
        ({"seq": 2**64}, "envelope.seq"),
        ({"t_mono_ns": 1.0}, "envelope.t_mono_ns"),
        ({"trace": [("a", 1)]}, "envelope.trace must be a tuple"),
        ({"trace": (["a", 1],)}, "envelope.trace[0]"),
        ({"trace": (("a", None),)}, "envelope.trace[0]"),
    ],
)
def test_encode_refuses_invalid_envelopes(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(WireError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        encode(message(None, **fields))


def test_encode_refuses_bodies_the_codec_refuses() -> None:
    with pytest.raises(WireError, match=r"body\['x'\]"):
        encode(message({"x": np.array([object()])}))


def test_limits_are_frozen_with_documented_defaults() -> None:
    limits = Limits()
    assert (limits.max_header_bytes, limits.max_frames) == (1 << 20, 64)
    assert (limits.max_frame_bytes, limits.max_message_bytes) == (64 << 20, 256 << 20)
    assert (limits.max_depth, limits.max_items) == (32, 10_000)
    with pytest.raises(AttributeError):
        limits.max_frames = 3  # type: ignore[misc]

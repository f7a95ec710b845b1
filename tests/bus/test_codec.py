"""The value codec: exact round trips of the core types, refusals with paths, properties."""

from __future__ import annotations

import dataclasses
import math
import types
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from brigade.action import Action
from brigade.bus.codec import (
    BYTES_INLINE_MAX,
    decode_value,
    encode_value,
    register_wire_type,
    wire_dtype,
    wire_types,
)
from brigade.bus.wire import Envelope, decode, encode
from brigade.chat import ChatRequest, Completion, Message, SamplingParams, Usage
from brigade.critic import CriticState, Scores
from brigade.errors import RegistryError, WireError
from brigade.plan import JointPlan, Outcome

# ---------------------------------------------------------------- helpers


def assert_same(a: Any, b: Any, path: str = "value") -> None:
    """Assert that ``b`` is an exact copy of ``a``: same types all the way down, same bits."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.dtype.str == b.dtype.str, f"{path}: dtype {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} became {b.shape}"
        assert a.tobytes() == b.tobytes(), f"{path}: values differ"
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), f"{path}: values differ"
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{path}: {a!r} became {b!r}"
    elif isinstance(a, float):
        same = (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
        assert same, f"{path}: {a!r} became {b!r}"
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} became {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    else:
        assert a == b, f"{path}: {a!r} became {b!r}"


def through_wire(value: Any) -> Any:
    """Send ``value`` as a message body through real frames (copied, as from a socket)."""
    frames = encode(Envelope.now("test", "tester", 0, value))
    return decode([bytes(f) for f in frames]).body


def through_codec(value: Any, **limits: Any) -> Any:
    """Encode, msgpack the tree, decode: the codec alone."""
    tree, arrays = encode_value(value, **limits)
    tree = msgpack.unpackb(msgpack.packb(tree), raw=False, strict_map_key=False)
    return decode_value(tree, arrays, **limits)


def refusal(value: Any, **limits: Any) -> str:
    with pytest.raises(WireError) as info:
        encode_value(value, **limits)
    return str(info.value)


# ---------------------------------------------------------------- the core types

RNG = np.random.default_rng(7)
BOB = Action("Bob", "PICK", ("banana",))
ALICE = Action("Alice", "MOVE", ("0.5", "1.5"))
CORE_VALUES = [
    BOB,
    Action("Carol", "WAIT"),
    JointPlan((ALICE, BOB)),
    JointPlan((ALICE, BOB), paths={"Alice": ((0.1, 0.2, 0.3), (0.4, -0.5, 0.6)), "Bob": ()}),
    Outcome(
        reward=1.5,
        terminated=False,
        truncated=True,
        success=False,
        steps=7,
        feedback=("Bob: the path is blocked",),
        frames=RNG.integers(0, 256, size=(2, 6, 5, 3), dtype=np.uint8),
        info={"collisions": 2, "rate": 0.25, "note": "ok", "done": True},
    ),
    Outcome(reward=0.0, terminated=True, truncated=False, success=True, steps=1),
    CriticState(("Alice", "Bob"), RNG.standard_normal(12).astype(np.float32), ("near", "far")),
    Scores(np.array([0.5, -0.25, 1e-9])),
    Scores(
        np.array([0.5, -0.25], dtype=np.float32),
        uncertainty=np.array([0.1, 0.2], dtype=np.float32),
        info={"baseline": 0.3, "values": [1.0, 2.0], "ensemble": np.arange(3)},
    ),
    Message("user", "Which action next?"),
    SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=("\n", "END"), seed=3),
    SamplingParams(),
    Usage(120, 17, "tokenizer"),
    Completion(
        "NAME Bob ACTION PICK banana", Usage(10, 5), 0.25, cached=True, model="m", retries=1
    ),
    ChatRequest(
        "llama-3",
        (Message("system", "You plan for a kitchen."), Message("user", "Bob is at (1, 2).")),
        SamplingParams(temperature=0.0, seed=11),
    ),
]


@pytest.mark.parametrize("value", CORE_VALUES, ids=lambda v: type(v).__name__)
def test_core_types_round_trip_exactly(value: Any) -> None:
    assert_same(value, through_wire(value))
    assert_same(value, through_codec(value))


def test_every_frozen_dataclass_of_the_interfaces_is_registered() -> None:
    import brigade.action
    import brigade.chat
    import brigade.critic
    import brigade.plan
    import brigade.task_env

    registered = set(wire_types().values())
    for module in (brigade.action, brigade.plan, brigade.critic, brigade.chat, brigade.task_env):
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                if dataclasses.is_dataclass(obj):
                    assert obj in registered, f"{obj.__qualname__} is not a wire type"


def test_core_types_travel_under_short_names() -> None:
    names = wire_types()
    assert names["Action"] is Action and names["ChatRequest"] is ChatRequest
    tree, _ = encode_value(BOB)
    assert tree == [2, "Action", "Bob", "PICK", [1, "banana"]]  # no field names travel


def test_a_joint_plan_with_a_mapping_proxy_of_paths_comes_back_equal() -> None:
    plan = JointPlan((ALICE,), paths=types.MappingProxyType({"Alice": ((1.0, 2.0),)}))
    back = through_wire(plan)
    assert back == plan
    assert type(back.paths) is dict


def test_decoded_outcome_frames_are_read_only_views() -> None:
    outcome = CORE_VALUES[4]
    back = through_wire(outcome)
    assert not back.frames.flags.writeable
    with pytest.raises(ValueError):
        back.frames[0, 0, 0, 0] = 1


# ---------------------------------------------------------------- type identity


def test_tuples_lists_and_dicts_keep_their_types() -> None:
    value = [(1, [2, (3,)]), {"a": (), "b": [], 7: {"c": [()]}}, ((),), []]
    back = through_wire(value)
    assert_same(value, back)
    assert type(back[0]) is tuple and type(back[0][1]) is list and type(back[0][1][1]) is tuple


@pytest.mark.parametrize(
    "scalar",
    [
        np.float32(1.5),
        np.float64(-0.0),
        np.float16(3.0),
        np.int8(-3),
        np.int64(-(2**63)),
        np.uint64(2**64 - 1),
        np.bool_(True),
        np.complex64(1 + 2j),
        np.longdouble(1) / 3,
    ],
    ids=lambda s: type(s).__name__,
)
def test_numpy_scalars_keep_their_type(scalar: Any) -> None:
    back = through_wire({"x": scalar})["x"]
    assert type(back) is type(scalar)
    assert_same(scalar, back)


def test_python_scalars_keep_their_type() -> None:
    value = [None, True, False, 0, -1, 2**64 - 1, -(2**63), 1.0, -0.0, math.inf, "é", b"\x00"]
    assert_same(value, through_wire(value))
    back = through_wire([math.nan])
    assert type(back[0]) is float and math.isnan(back[0])


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=">f8").reshape(2, 3),
        np.arange(6, dtype="<i2"),
        np.array([True, False, True]),
        np.array(3.5),
        np.array(7, dtype=np.uint16),
        np.zeros((0, 3)),
        np.zeros((2, 0, 4), dtype=np.int32),
        np.array([1 + 2j, -3j], dtype=">c16"),
        np.array([np.nan, -np.inf, -0.0], dtype=np.float32),
        np.arange(5, dtype=np.longdouble),
        # numpy will not export non-native long doubles as buffers: the frame is a byte view.
        np.array([1.5, -2.5], dtype=np.dtype(np.longdouble).newbyteorder()),
        np.array([1 + 1j], dtype=np.dtype(np.clongdouble).newbyteorder()),
    ],
    ids=lambda a: f"{a.dtype.str}{a.shape}",
)
def test_arrays_keep_dtype_shape_and_values(array: np.ndarray) -> None:
    back = through_wire(array)
    assert_same(array, back)


def test_non_contiguous_and_fortran_arrays_come_back_equal_and_c_ordered() -> None:
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    for array in (base[:, ::2], base[::-1], base.T, np.asfortranarray(base), base[1:3, 2:5]):
        back = through_wire(array)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
        assert back.flags.c_contiguous


def test_large_bytes_travel_as_a_frame_and_come_back_as_bytes() -> None:
    data = bytes(range(256)) * (BYTES_INLINE_MAX // 256 + 1)
    frames = encode(Envelope.now("test", "t", 0, {"snapshot": data, "small": b"ab"}))
    assert len(frames) == 2 and len(frames[0]) < 200  # out of the header
    back = decode([bytes(f) for f in frames]).body
    assert type(back["snapshot"]) is bytes and back["snapshot"] == data
    assert back["small"] == b"ab"


def test_other_mappings_come_back_as_equal_dicts() -> None:
    back = through_wire(types.MappingProxyType({"a": 1, 2: [3]}))
    assert back == {"a": 1, 2: [3]} and type(back) is dict


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("array", "dtype_text"),
    [
        (np.array([object()], dtype=object), "|O"),
        (np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "|V12"),
        (np.array(["abc"]), "<U3"),
        (np.array([b"ab"]), "|S2"),
        (np.array(["2020-01-01"], dtype="datetime64[s]"), "<M8[s]"),
        (np.array([1], dtype="timedelta64[s]"), "<m8[s]"),
    ],
)
def test_refused_array_dtypes_name_the_path_and_the_dtype(
    array: np.ndarray, dtype_text: str
) -> None:
    message = refusal({"state": [1, array]})
    assert "body['state'][1]" in message
    assert dtype_text in message


def test_refused_numpy_scalars() -> None:
    assert "<U1" in refusal([np.str_("x")])
    assert "<M8" in refusal((np.datetime64("2020-01-01", "D"),))


@pytest.mark.parametrize(
    "number", [2**64, -(2**63) - 1, 10**5000], ids=["2**64", "-2**63-1", "10**5000"]
)
def test_ints_beyond_64_bits_are_refused(number: int) -> None:
    message = refusal({"n": [number]})
    assert "body['n'][0]" in message and "64 bits" in message


def test_dict_keys_must_be_str_or_int() -> None:
    assert "keys are str or" in refusal({"ok": {(1, 2): "tuple key"}})
    assert "body['ok']" in refusal({"ok": {(1, 2): "tuple key"}})
    assert "keys are str or" in refusal({1.5: 0})
    assert "keys are str or" in refusal({True: 0})  # a bool key would come back an int


def test_an_unregistered_dataclass_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Secret:
        x: int

    message = refusal([Secret(1)])
    assert "body[0]" in message and "Secret" in message and "register_wire_type" in message


@pytest.mark.parametrize("value", [{1, 2}, object(), 1 + 2j, bytearray(b"x"), range(3)])
def test_unsupported_values_are_refused_with_their_type(value: Any) -> None:
    message = refusal({"v": value})
    assert "body['v']" in message and type(value).__qualname__ in message


def test_the_path_runs_through_dataclass_fields() -> None:
    bad = Action("Bob", "PICK", ("x",))
    object.__setattr__(bad, "args", (2**70,))  # smuggled past __post_init__
    message = refusal(JointPlan((ALICE, bad)))
    assert message.startswith("body.actions[1].args[0]:")


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    value: Any = 1
    for _ in range(40):
        value = [value]
    message = refusal(value)
    assert "nesting deeper than 32" in message and "body[0][0]" in message
    assert_same([[[1]]], through_codec([[[1]]], max_depth=3))
    with pytest.raises(WireError, match="deeper than 2"):
        through_codec([[[1]]], max_depth=2)


def test_too_many_elements_are_refused() -> None:
    assert "11 elements" in refusal({"a": list(range(11))}, max_items=10)
    assert "body['a']" in refusal({"a": list(range(11))}, max_items=10)
    assert "11 elements" in refusal({str(i): i for i in range(11)}, max_items=10)


def test_a_self_containing_list_is_refused_not_a_recursion_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert "nesting deeper" in refusal(loop)


# ---------------------------------------------------------------- decoding hostile trees


def _decode_error(tree: Any, arrays: list[np.ndarray] | None = None) -> str:
    with pytest.raises(WireError) as info:
        decode_value(tree, arrays or [])
    return str(info.value)


def test_an_unknown_wire_type_is_named_with_a_suggestion() -> None:
    message = _decode_error({"a": [2, "Acton", "Bob", "PICK", [1]]})
    assert "unknown wire type 'Acton'" in message and "did you mean 'Action'" in message
    assert "body['a']" in message


def test_a_dataclass_that_refuses_its_values_is_a_wire_error() -> None:
    message = _decode_error([0, [2, "Action", "Bob", "pick", [1, "x"]]])
    assert message.startswith("body[0]:") and "valid Action" in message and "pick" in message
    message = _decode_error([2, "Message", "robot", "hi"])
    assert "valid Message" in message and "role" in message


def test_a_dataclass_with_the_wrong_field_count_is_refused() -> None:
    assert "Action has 3 fields, the message gives 2" in _decode_error([2, "Action", "Bob", "X"])


def test_field_paths_appear_in_decoding_errors() -> None:
    tree = [2, "JointPlan", [1, [2, "Action", "Bob", "PICK", [1, [9]]]], {}]
    assert _decode_error(tree).startswith("body.actions[0].args[0]: unknown node tag 9")


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ([], "int tag"),
        (["x", 1], "int tag"),
        ([True, 1], "int tag"),
        ([3, 0], "does not exist"),
        ([3, "0"], "an array node"),
        ([4, "<f8", b"123"], "has 8 bytes, not 3"),
        ([4, "O", b"123"], "dtype 'O' is refused"),
        ([4, "<f8"], "numpy scalar node"),
        ({1.5: 1}, "keys are str or int"),
        ({None: 1}, "keys are str or int"),
        (msgpack.ExtType(1, b"x"), "unexpected msgpack value"),
        ([2, 5], "dataclass node"),
    ],
)
def test_malformed_trees_are_refused(tree: Any, expected: str) -> None:
    assert expected in _decode_error(tree)


def test_every_array_must_be_referred_to_exactly_once() -> None:
    a = np.zeros(3)
    assert "referred to twice" in _decode_error([0, [3, 0], [3, 0]], [a])
    assert "never referred to" in _decode_error([0, [3, 0]], [a, a])
    assert "1-d '|u1'" in _decode_error([5, 0], [a])


# ---------------------------------------------------------------- the registry


def test_registering_a_dataclass_lets_it_travel() -> None:
    @register_wire_type(name="tests.bus.Pose")
    @dataclasses.dataclass(frozen=True)
    class Pose:
        xyz: tuple[float, float, float]
        joints: np.ndarray
        label: str = ""

    @register_wire_type
    @dataclasses.dataclass(frozen=True)
    class Empty:
        pass

    pose = Pose((1.0, 2.0, 3.0), np.arange(7, dtype=np.float32), "home")
    assert_same([pose, Empty()], through_wire([pose, Empty()]))
    assert wire_types()["tests.bus.Pose"] is Pose
    assert f"{Empty.__module__}.{Empty.__qualname__}" in wire_types()


def test_registration_refuses_what_cannot_travel() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Derived:
        x: int
        y: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="frozen"):
        register_wire_type(Mutable)
    with pytest.raises(TypeError, match="__init__"):
        register_wire_type(Derived)
    with pytest.raises(TypeError, match="not a dataclass"):
        register_wire_type(int)


def test_a_wire_name_belongs_to_one_class() -> None:
    @dataclasses.dataclass(frozen=True)
    class Other:
        x: int

    with pytest.raises(RegistryError, match="already taken"):
        register_wire_type(Other, "Action")
    register_wire_type(Other, "tests.bus.Other")
    register_wire_type(Other, "tests.bus.Other")  # the same registration again is harmless
    with pytest.raises(RegistryError, match="already registered"):
        register_wire_type(Other, "tests.bus.Other2")


def test_wire_dtype_accepts_only_canonical_numeric_strings() -> None:
    assert wire_dtype("<f8") == np.dtype("<f8")
    assert wire_dtype("|b1") == np.dtype(bool)
    for text in ("O", "|O", "|V8", "<U3", "garbage", "<b1", "f8", "<f3", "<M8", 8, None, ["<f8"]):
        with pytest.raises(WireError, match="refused"):
            wire_dtype(text)


# ---------------------------------------------------------------- properties

NUMERIC_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64, 128)),
    hnp.complex_number_dtypes(endianness="?", sizes=(64, 128, 256)),
)
ARRAYS = hnp.arrays(
    NUMERIC_DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
)
# A strided view of an array: the codec must copy it to C order.
STRIDED = ARRAYS.filter(lambda a: a.ndim >= 1 and a.shape[0] > 1).map(lambda a: a[::-2])
NUMPY_SCALARS = hnp.arrays(NUMERIC_DTYPES, shape=()).map(lambda a: a[()])
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True)
ACTIONS = st.builds(
    Action,
    NAMES,
    st.from_regex(r"[A-Z][A-Z_]{0,5}", fullmatch=True),
    st.lists(st.from_regex(r"[!-~]{1,6}", fullmatch=True), max_size=3).map(tuple),
)
#: The plain values msgpack carries as they are.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=12),
)
LEAVES = st.one_of(
    SCALARS,
    ARRAYS,
    STRIDED,
    NUMPY_SCALARS,
    ACTIONS,
)
KEYS = st.one_of(st.text(max_size=6), st.integers(-(2**63), 2**64 - 1))
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(TREES)
def test_any_tree_of_supported_values_round_trips_exactly(value: Any) -> None:
    assert_same(value, through_wire(value))


@settings(max_examples=100, deadline=None)
@given(TREES)
def test_decoded_values_encode_to_the_same_tree(value: Any) -> None:
    # Encoding is a function of the value alone: what arrives re-encodes identically.
    tree, arrays = encode_value(value)
    again, arrays_again = encode_value(through_wire(value))
    assert msgpack.packb(tree) == msgpack.packb(again)
    assert [a.tobytes() for a in arrays] == [a.tobytes() for a in arrays_again]

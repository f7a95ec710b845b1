"""The bus wire format: one msgpack header frame, then raw array frames.

A message is a list of frames (a ZeroMQ multipart message):

- frame 0, the header: a msgpack array
  ``[version, kind, sender, seq, t_mono_ns, t_wall_ns, trace, arrays, body]``
  where ``trace`` is a list of per-hop entries, ``arrays`` holds one
  ``[dtype, shape]`` per array frame and ``body`` is the value tree of
  :mod:`brigade.bus.codec`;
- frames 1..n: the raw bytes of the arrays, C order, sent zero-copy (each is a
  ``memoryview`` over the sender's array).

Every schema version keeps one promise: frame 0 is a msgpack array whose first
element is the schema version. So a peer on another version is told so
(:class:`~brigade.errors.SchemaVersionError`) even when the rest of its header
is in a format this release cannot read.

:func:`decode` trusts nothing: sizes are bounded by :class:`Limits` before
anything is allocated, msgpack parses with length limits, and every header field,
dtype, shape and frame length is checked. Any problem is a
:class:`~brigade.errors.WireError` (or a subclass) that says what and where; no
other exception escapes it. Pickle is never used.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import msgpack
import numpy as np
import zmq

from brigade.bus.codec import (
    MAX_DEPTH,
    MAX_ITEMS,
    brief,
    decode_value,
    encode_value,
    wire_dtype,
    wire_text,
)
from brigade.errors import MessageTooLargeError, SchemaVersionError, WireError

__all__ = [
    "DEFAULT_LIMITS",
    "SCHEMA_VERSION",
    "Envelope",
    "Limits",
    "TraceEntry",
    "decode",
    "encode",
    "encode_message",
    "zmq_max_msg_size",
]

#: The version of this wire schema; peers must speak the same one.
SCHEMA_VERSION = 1

#: One per-hop trace entry, e.g. ``(node_name, t_wall_ns)``.
TraceEntry = tuple[str | int | float | bool, ...]

_HEADER_FIELDS = 9
_KIND_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
_MAX_TRACE_ENTRY = 8
_KINDS_SEEN: set[str] = set()
_new = object.__new__
_BYTE_FRAMES = frozenset({bytes, zmq.Frame})
# Bodies that are their own tree (the codec's plain leaves): no decode_value call.
_PLAIN_BODY = frozenset({str, int, float, bool, bytes, type(None)})


@dataclass(frozen=True)
class Limits:
    """Bounds on one bus message, checked on both ends.

    Attributes:
        max_header_bytes: Most bytes of the header frame.
        max_frames: Most frames, header included.
        max_frame_bytes: Most bytes of one array frame.
        max_message_bytes: Most bytes of all frames together.
        max_depth: Most nested containers in the body.
        max_items: Most elements of one container in the body.
        max_ndim: Most dimensions of one array.
        max_trace: Most trace entries.
        max_name_len: Most characters of the sender's name and of trace strings.
    """

    max_header_bytes: int = 1 << 20
    max_frames: int = 64
    max_frame_bytes: int = 64 << 20
    max_message_bytes: int = 256 << 20
    max_depth: int = MAX_DEPTH
    max_items: int = MAX_ITEMS
    max_ndim: int = 32
    max_trace: int = 64
    max_name_len: int = 256


DEFAULT_LIMITS = Limits()


def zmq_max_msg_size(limits: Limits = DEFAULT_LIMITS) -> int:
    """The value for a socket's ``zmq.MAXMSGSIZE`` that matches ``limits``.

    libzmq applies ``MAXMSGSIZE`` to each frame of a multipart message and drops
    the connection of a peer that exceeds it, so an oversized frame is refused
    before it is ever buffered whole; :func:`decode` checks the rest.
    """
    return max(limits.max_header_bytes, limits.max_frame_bytes)


@dataclass(frozen=True)
class Envelope:
    """One bus message.

    Attributes:
        kind: The message type (``request``, ``reply``, ``error``, ``ping``,
            ``hello``, ``telemetry``...): a letter or ``_``, then at most 31
            ASCII letters, digits, ``_``, ``.`` or ``-``.
        sender: The sending node's name.
        seq: The sender's sequence number (0 <= seq < 2**64).
        body: The payload: any value :mod:`brigade.bus.codec` carries.
        t_mono_ns: The sender's ``time.monotonic_ns()`` when it made the message.
        t_wall_ns: The sender's ``time.time_ns()`` when it made the message.
        trace: Per-hop timing entries, e.g. ``(node_name, t_wall_ns)`` pairs.
    """

    # decode() fills instances without calling __init__ (it has checked every field):
    # keep this a plain dataclass, with no __post_init__ and no slots.
    kind: str
    sender: str
    seq: int
    body: Any
    t_mono_ns: int
    t_wall_ns: int
    trace: tuple[TraceEntry, ...] = ()

    @classmethod
    def now(
        cls,
        kind: str,
        sender: str,
        seq: int,
        body: Any = None,
        *,
        trace: tuple[TraceEntry, ...] = (),
    ) -> Envelope:
        """Make a message stamped with the current monotonic and wall-clock times."""
        return cls(kind, sender, seq, body, time.monotonic_ns(), time.time_ns(), trace)

    def with_hop(self, node: str, t_wall_ns: int | None = None) -> Envelope:
        """Return a copy with ``(node, t_wall_ns)`` (now by default) appended to the trace."""
        t = time.time_ns() if t_wall_ns is None else t_wall_ns
        return Envelope(
            self.kind,
            self.sender,
            self.seq,
            self.body,
            self.t_mono_ns,
            self.t_wall_ns,
            (*self.trace, (node, t)),
        )


# One msgpack Packer per thread: reusing its buffer halves the cost of packb, but a
# Packer must not be shared between threads.
_local = threading.local()


def _packer() -> msgpack.Packer:
    """This thread's Packer, made on its first message."""
    packer: msgpack.Packer = msgpack.Packer(use_bin_type=True)
    _local.packer = packer
    return packer


def encode(envelope: Envelope, limits: Limits = DEFAULT_LIMITS) -> list[bytes | memoryview]:
    """Turn a message into frames, ready for ``socket.send_multipart(frames, copy=False)``.

    Args:
        envelope: The message.
        limits: The bounds it must respect (the receiver's should be the same).

    Returns:
        The header (``bytes``) then one ``memoryview`` per array, over the array's
        own memory (zero-copy: do not modify the arrays until the frames are sent).

    Raises:
        MessageTooLargeError: The message breaks a bound of ``limits``.
        WireError: A field is invalid or the body holds something the bus does not carry.
    """
    e = envelope
    return encode_message(
        e.kind, e.sender, e.seq, e.body, e.t_mono_ns, e.t_wall_ns, e.trace, limits
    )


def encode_message(
    kind: str,
    sender: str,
    seq: int,
    body: Any,
    t_mono_ns: int,
    t_wall_ns: int,
    trace: tuple[TraceEntry, ...] = (),
    limits: Limits = DEFAULT_LIMITS,
    *,
    checked_trace: bool = False,
) -> list[bytes | memoryview]:
    """:func:`encode` of the message with these fields, without making an :class:`Envelope`.

    The same frames, checks and errors as ``encode(Envelope(kind, ...), limits)``,
    for a sender that needs no Envelope of its own message (a request, a reply).
    ``checked_trace=True`` vouches that every entry of ``trace`` is valid already
    (the entries of a message :func:`decode` accepted under the same limits, and
    entries made of values checked by the caller): their number is still checked,
    not their contents.
    """
    if not _usual_fields(kind, sender, seq, t_mono_ns, t_wall_ns, limits):
        _check_fields(kind, sender, seq, t_mono_ns, t_wall_ns, "envelope", limits)
    if type(trace) is not tuple:
        raise WireError(f"envelope.trace must be a tuple, not {type(trace).__name__}")
    if trace and (not checked_trace or len(trace) > limits.max_trace):
        _check_trace(trace, tuple, "envelope", limits)
    tree, arrays = encode_value(body, max_depth=limits.max_depth, max_items=limits.max_items)
    if arrays:
        frames, specs, total = _array_frames(arrays, limits)
    else:
        frames, specs, total = [b""], [], 0
    packer = getattr(_local, "packer", None)
    if packer is None:
        packer = _packer()
    header = packer.pack(
        [SCHEMA_VERSION, kind, sender, seq, t_mono_ns, t_wall_ns, trace, specs, tree]
    )
    size = len(header)
    if size > limits.max_header_bytes:
        raise MessageTooLargeError(
            f"the header has {size} bytes, more than max_header_bytes="
            f"{limits.max_header_bytes} (send big data as numpy arrays)"
        )
    total += size
    if total > limits.max_message_bytes:
        raise MessageTooLargeError(
            f"the message has {total} bytes, more than max_message_bytes={limits.max_message_bytes}"
        )
    frames[0] = header
    return frames


def _array_frames(
    arrays: list[np.ndarray], limits: Limits
) -> tuple[list[bytes | memoryview], list[tuple[str | None, tuple[int, ...]]], int]:
    """A placeholder for the header, then the arrays' frames; their specs; their bytes."""
    if len(arrays) + 1 > limits.max_frames:
        raise MessageTooLargeError(
            f"the body holds {len(arrays)} arrays: more than the {limits.max_frames - 1} "
            "array frames a message may have"
        )
    frames: list[bytes | memoryview] = [b""]
    specs = []
    total = 0
    for i, a in enumerate(arrays):
        n = a.nbytes
        if n > limits.max_frame_bytes:
            raise MessageTooLargeError(
                f"body array {i} ({a.dtype.str}, shape {a.shape}) has {n} bytes, "
                f"more than max_frame_bytes={limits.max_frame_bytes}"
            )
        total += n
        specs.append((wire_text(a.dtype), a.shape))  # (never None: encode_value took it)
        frames.append(_bytes_view(a) if n else b"")  # (an empty frame carries nothing)
    return frames, specs, total


def decode(
    frames: Sequence[Any], limits: Limits = DEFAULT_LIMITS, *, writable: bool = False
) -> Envelope:
    """Rebuild a message from received frames, checking everything first.

    Args:
        frames: The frames: ``bytes``, ``memoryview``, ``zmq.Frame`` or any
            bytes-like buffer (as ``recv_multipart(copy=False)`` returns them).
        limits: The bounds the message must respect.
        writable: Leave the arrays over writable frames writable: for a receiver
            that owns its frames alone (a ``zmq.Frame`` it received), where a
            read-only array would only have to be made writable again.

    Returns:
        The message. Its arrays are views over the frames' buffers, read-only
        (unless ``writable`` and the frame is writable).

    Raises:
        SchemaVersionError: The sender speaks another schema version.
        MessageTooLargeError: The message breaks a bound of ``limits``.
        WireError: Anything else is wrong; the message says what and where.
    """
    count = len(frames)
    if count == 0:
        raise WireError("an empty message: no header frame")
    head = frames[0]
    if type(head) is not bytes:
        head = _buffer(head, 0)
    size = len(head)
    if size > limits.max_header_bytes:
        raise MessageTooLargeError(
            f"frame 0 (the header) has {size} bytes, more than max_header_bytes="
            f"{limits.max_header_bytes}"
        )
    try:
        # The length bounds keep a hostile header from making msgpack allocate more
        # than the header's own size; int keys are allowed, the codec checks keys.
        header = msgpack.unpackb(
            head,
            raw=False,
            use_list=True,
            strict_map_key=False,
            max_str_len=size,
            max_bin_len=size,
            max_array_len=size,
            max_map_len=size,
            max_ext_len=size,
        )
    except Exception as exc:  # msgpack raises many kinds; all mean a bad header
        theirs = _sniff_version(head)
        if theirs is not None and theirs != SCHEMA_VERSION:
            raise SchemaVersionError(theirs, SCHEMA_VERSION) from None
        raise WireError(f"frame 0 (the header) is not valid msgpack: {exc}") from None
    if (
        type(header) is not list
        or len(header) != _HEADER_FIELDS
        or type(header[0]) is not int
        or header[0] != SCHEMA_VERSION
    ):
        _refuse_header(header)
    if count > limits.max_frames:
        raise MessageTooLargeError(
            f"the message has {count} frames, more than max_frames={limits.max_frames}"
        )
    _, kind, sender, seq, t_mono, t_wall, trace, specs, body = header
    # The usual case in one test, then _check_fields says what is wrong, or
    # accepts a kind not seen yet.
    if not _usual_fields(kind, sender, seq, t_mono, t_wall, limits):
        _check_fields(kind, sender, seq, t_mono, t_wall, "header", limits)
    if type(trace) is not list:
        raise WireError(f"header.trace must be an array, not {type(trace).__name__}")
    if trace:
        _check_trace(trace, list, "header", limits)
        trace = tuple(map(tuple, trace))
    else:
        trace = ()
    if type(specs) is not list or len(specs) != count - 1:
        what = f"{len(specs)} entries" if type(specs) is list else type(specs).__name__
        raise WireError(
            f"header.arrays must describe the {count - 1} array frames sent, but holds {what}"
        )
    arrays = []
    if count > 1:
        total = size
        for i in range(count - 1):
            array = _array(specs[i], frames[i + 1], i, limits, writable)
            total += array.nbytes
            arrays.append(array)
        if total > limits.max_message_bytes:
            raise MessageTooLargeError(
                f"the message has {total} bytes, more than max_message_bytes="
                f"{limits.max_message_bytes}"
            )
    if type(body) in _PLAIN_BODY and not arrays:
        value = body
    else:
        value = decode_value(body, arrays, max_depth=limits.max_depth, max_items=limits.max_items)
    # Every field is checked above: skip the frozen __init__.
    return bare_envelope(kind, sender, seq, value, t_mono, t_wall, trace)


def bare_envelope(
    kind: str,
    sender: str,
    seq: int,
    body: Any,
    t_mono_ns: int,
    t_wall_ns: int,
    trace: tuple[TraceEntry, ...] = (),
) -> Envelope:
    """An :class:`Envelope` built without its frozen ``__init__``, fields unchecked.

    The same as ``Envelope(...)`` at a third of the cost, for values that are
    checked anyway (by :func:`decode` before, or by :func:`encode` after).
    """
    e: Envelope = _new(Envelope)
    d = e.__dict__
    d["kind"] = kind
    d["sender"] = sender
    d["seq"] = seq
    d["body"] = body
    d["t_mono_ns"] = t_mono_ns
    d["t_wall_ns"] = t_wall_ns
    d["trace"] = trace
    return e


def _usual_fields(
    kind: Any, sender: Any, seq: Any, t_mono: Any, t_wall: Any, limits: Limits
) -> bool:
    """Whether the header fields are of the usual, valid kind (one test for the common case)."""
    return (
        type(kind) is str
        and kind in _KINDS_SEEN
        and type(sender) is str
        and len(sender) <= limits.max_name_len
        and type(seq) is int
        and 0 <= seq <= _UINT64_MAX
        and type(t_mono) is int
        and _INT64_MIN <= t_mono <= _INT64_MAX
        and type(t_wall) is int
        and _INT64_MIN <= t_wall <= _INT64_MAX
    )


def _refuse_header(header: Any) -> NoReturn:
    """Raise the error for a header that is not a list of this schema's fields."""
    if type(header) is not list or not header:
        raise WireError(
            "frame 0 (the header) must be a msgpack array starting with the schema version, "
            f"not {type(header).__name__}"
        )
    version = header[0]
    if type(version) is int and version != SCHEMA_VERSION:
        raise SchemaVersionError(version, SCHEMA_VERSION)
    if type(version) is str:  # a hostile header may hold a megabyte of "version"
        raise SchemaVersionError(version[:32], SCHEMA_VERSION)
    if type(version) is not int:
        raise WireError(f"header[0], the schema version, must be an int, not {brief(version)}")
    raise WireError(
        f"the header has {len(header)} fields; schema {SCHEMA_VERSION} has {_HEADER_FIELDS}"
    )


def _check_fields(
    kind: Any, sender: Any, seq: Any, t_mono: Any, t_wall: Any, where: str, limits: Limits
) -> None:
    if type(kind) is not str or kind not in _KINDS_SEEN:  # the regex costs the most here
        if type(kind) is not str or not _KIND_RE.fullmatch(kind):
            raise WireError(
                f"{where}.kind must be a short ASCII identifier (letters, digits, '_', '.', "
                f"'-'; at most 32), not {brief(kind)}"
            )
        if len(_KINDS_SEEN) < 1024:  # bounded: a peer may send endless new kinds
            _KINDS_SEEN.add(kind)
    if type(sender) is not str or len(sender) > limits.max_name_len:
        raise WireError(
            f"{where}.sender must be a str of at most {limits.max_name_len} characters, "
            f"not {brief(sender)}"
        )
    if type(seq) is not int or not 0 <= seq <= _UINT64_MAX:
        raise WireError(f"{where}.seq must be an int in [0, 2**64), not {brief(seq)}")
    if type(t_mono) is not int or not _INT64_MIN <= t_mono <= _INT64_MAX:
        raise WireError(f"{where}.t_mono_ns must be an int64 of nanoseconds, not {brief(t_mono)}")
    if type(t_wall) is not int or not _INT64_MIN <= t_wall <= _INT64_MAX:
        raise WireError(f"{where}.t_wall_ns must be an int64 of nanoseconds, not {brief(t_wall)}")


def _check_trace(trace: Sequence[Any], entry_type: type, where: str, limits: Limits) -> None:
    if len(trace) > limits.max_trace:
        raise WireError(f"{where}.trace has {len(trace)} entries, at most {limits.max_trace}")
    max_len = limits.max_name_len
    for i, entry in enumerate(trace):
        exact = type(entry) is entry_type  # (a variable: keeps mypy from narrowing entry)
        if not exact or not 1 <= len(entry) <= _MAX_TRACE_ENTRY:
            raise WireError(
                f"{where}.trace[{i}] must be a {entry_type.__name__} of 1 to "
                f"{_MAX_TRACE_ENTRY} values, not {brief(entry)}"
            )
        for item in entry:
            t = type(item)
            if t is str:
                ok = len(item) <= max_len
            elif t is int:
                ok = _INT64_MIN <= item <= _UINT64_MAX
            else:
                ok = t is float or t is bool
            if not ok:
                raise WireError(
                    f"{where}.trace[{i}] holds {brief(item)}: entries hold str, int, float, bool"
                )


def _bytes_view(a: np.ndarray) -> memoryview:
    """A flat byte view of a non-empty C-contiguous array, sharing its memory."""
    try:
        return a.data.cast("B")
    except ValueError:  # numpy will not export some dtypes this way (non-native long double)
        return a.reshape(-1).view(np.uint8).data


def _buffer(frame: Any, index: int) -> bytes | memoryview:
    """A flat byte view of one frame (bytes, memoryview, zmq.Frame...); len() is its size."""
    if type(frame) is bytes:
        return frame
    try:
        view = memoryview(frame)
    except TypeError:
        raise WireError(
            f"frame {index} is of type {type(frame).__name__}, not a bytes-like buffer"
        ) from None
    if view.ndim != 1 or view.format != "B":
        if not view.c_contiguous:
            raise WireError(f"frame {index} is not a contiguous buffer")
        view = view.cast("B") if view.nbytes else memoryview(b"")
    return view


def _array(spec: Any, frame: Any, i: int, limits: Limits, writable: bool) -> np.ndarray:
    """Check one ``[dtype, shape]`` entry against its frame and view the frame as the array."""
    if type(spec) is not list or len(spec) != 2:
        raise WireError(f"header.arrays[{i}] must be [dtype, shape], not {brief(spec)}")
    text, shape = spec
    try:
        dtype = wire_dtype(text)
    except WireError as exc:
        raise WireError(f"header.arrays[{i}]: {exc}") from None
    if type(shape) is not list or len(shape) > limits.max_ndim:
        raise WireError(
            f"header.arrays[{i}]: the shape must be a list of at most {limits.max_ndim} sizes, "
            f"not {brief(shape)}"
        )
    size = nonzero = dtype.itemsize
    for d in shape:
        if type(d) is not int or d < 0:
            raise WireError(
                f"header.arrays[{i}]: the shape {brief(shape)} must hold non-negative ints"
            )
        size *= d
        nonzero *= d or 1
    # Bounding the non-zero sizes too keeps numpy from refusing an empty, huge shape.
    if nonzero > limits.max_frame_bytes:
        raise MessageTooLargeError(
            f"header.arrays[{i}]: shape {tuple(shape)} of {dtype.str} is larger than "
            f"max_frame_bytes={limits.max_frame_bytes}"
        )
    # bytes and zmq.Frame are flat byte buffers whose len() is their size: numpy
    # takes them as they are (a memoryview costs as much as the array).
    view = frame if type(frame) in _BYTE_FRAMES else _buffer(frame, i + 1)
    if len(view) != size:
        raise WireError(
            f"frame {i + 1} has {len(view)} bytes, but {dtype.str} of shape {tuple(shape)} "
            f"takes {size}"
        )
    array: np.ndarray = np.ndarray(shape, dtype, view)
    if not writable:
        # A writable frame (zmq.Frame, or an in-process sender's array) must not be
        # changed through the received value.
        array.flags.writeable = False
    return array


def _sniff_version(head: bytes | memoryview) -> object | None:
    """Read only the schema version of a header that does not parse as a whole."""
    try:
        unpacker = msgpack.Unpacker(
            raw=False, max_buffer_size=max(len(head), 1), max_str_len=64, max_bin_len=0
        )
        unpacker.feed(head)
        if unpacker.read_array_header() < 1:
            return None
        version = unpacker.unpack()
    except Exception:  # unreadable: the caller reports the header as malformed
        return None
    return version if type(version) in (int, str) else None

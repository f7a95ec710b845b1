"""Core values <-> a msgpack-able tree plus out-of-band numpy arrays.

The bus carries every value that crosses an interface without pickle: the value
is turned into a *tree* of plain msgpack types and a list of arrays that travel
as separate raw frames (see :mod:`brigade.bus.wire`).

The tree scheme (schema version 1), chosen so that each shape has one meaning:

- ``None``, ``bool``, ``int`` (int64/uint64 range), ``float``, ``str`` and
  ``bytes`` are themselves.
- A ``dict`` (``str`` or ``int`` keys) is a msgpack map of trees; any other
  :class:`~collections.abc.Mapping` is sent as a map too and comes back a ``dict``
  (they compare equal, which is what ``JointPlan.paths`` and ``Outcome.info`` need).
- Every msgpack *array* is a tagged node whose first element says what it is:
  ``[0, item...]`` a ``list``; ``[1, item...]`` a ``tuple``; ``[2, name, value...]``
  a registered frozen dataclass (its wire name, then its fields in declaration
  order: field names never travel); ``[3, index]`` a ``numpy.ndarray``, array frame
  ``index`` (dtype and shape are in the header); ``[4, dtype, raw]`` a numpy scalar
  (``numpy.float32(1.5)``, same type back); ``[5, index]`` a ``bytes`` value longer
  than :data:`BYTES_INLINE_MAX`, sent as its own frame.

Arrays must have a numeric, bool or complex dtype (kinds ``b i u f c``); object,
structured, string and datetime dtypes are refused, so nothing on the wire can
name Python code. Arrays come back with the same dtype (byte order included),
shape and values, always C-ordered; decoded arrays are **read-only views over the
received frame buffers** (zero-copy): copy one before writing to it.

Decoding builds dataclasses through their constructors, so ``__post_init__``
validation runs on what a peer sent; any failure is a
:class:`~brigade.errors.WireError` whose message names the path
(``body.actions[1].args[0]``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any, TypeVar, overload

import numpy as np

from brigade.errors import RegistryError, WireError, did_you_mean

__all__ = [
    "BYTES_INLINE_MAX",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "brief",
    "decode_value",
    "encode_value",
    "register_wire_type",
    "wire_dtype",
    "wire_text",
    "wire_types",
]

T = TypeVar("T", bound=type)

#: ``bytes`` longer than this travel as their own frame rather than in the header.
BYTES_INLINE_MAX = 64 * 1024
#: Default bound on nested containers (lists, tuples, dicts, dataclasses).
MAX_DEPTH = 32
#: Default bound on the elements of one container: bulk data belongs in arrays, and
#: some constructors a peer's data reaches are not linear in their input.
MAX_ITEMS = 10_000

_LIST, _TUPLE, _DATACLASS, _ARRAY, _SCALAR, _BYTES = range(6)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_ARRAY_KINDS = frozenset("biufc")
# Canonical numpy dtype strings of the accepted kinds ('<f8', '|b1', '>c16'...): the
# pattern keeps the dtype cache below small and finite whatever a peer sends.
_DTYPE_RE = re.compile(r"[<>|][biufc][0-9]{1,2}")
_DTYPES: dict[str, np.dtype[Any]] = {}
# Values that are their own tree, on the way out and on the way in. Containers test
# their items against these inline: a function call per leaf would double the cost.
_PLAIN_OUT = frozenset({str, float, bool, type(None)})
_PLAIN_IN = frozenset({str, int, float, bool, bytes, type(None)})


class _Fail(Exception):
    """Internal: a refusal on its way up the tree, collecting the path as it goes."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.path: list[str] = []


def _wire_error(fail: _Fail, root: str) -> WireError:
    where = root + "".join(reversed(fail.path))
    return WireError(f"{where}: {fail.message}")


def _refuse_container(n: int, depth: int, max_depth: int, max_items: int) -> None:
    # Called only once a container is known to break a bound: the check is inline.
    if depth >= max_depth:
        raise _Fail(f"nesting deeper than {max_depth} levels")
    raise _Fail(f"{n} elements in one container (at most {max_items})")


def brief(value: object) -> str:
    """A short description of a value, safe for error messages about received data.

    A hostile header can hold deeply nested or huge values whose ``repr`` would be
    slow, enormous or would raise (RecursionError, or ValueError for huge ints).
    """
    t = type(value)
    if t is list or t is dict or t is tuple:
        return f"a {t.__name__} of {len(value)}"  # type: ignore[arg-type]
    if t is int and value.bit_length() > 64:  # type: ignore[attr-defined]
        return f"an int of {value.bit_length()} bits"  # type: ignore[attr-defined]
    if t in _PLAIN_IN:
        text = repr(value)
        return text if len(text) <= 60 else text[:56] + "...'"
    return f"a {t.__qualname__}"


def wire_dtype(text: object) -> np.dtype[Any]:
    """Return the numpy dtype named by a wire dtype string, or refuse it.

    Args:
        text: A canonical numpy dtype string of a numeric, bool or complex kind
            (``'<f8'``, ``'|u1'``, ``'>i4'``, ``'<c16'``).

    Raises:
        WireError: ``text`` is not such a string (``'O'``, ``'|V8'``, ``'<U3'``...).
    """
    if type(text) is str:
        cached = _DTYPES.get(text)
        if cached is not None:
            return cached
        if _DTYPE_RE.fullmatch(text):
            try:
                dtype = np.dtype(text)
            except (TypeError, ValueError):
                dtype = None
            if dtype is not None and dtype.str == text and dtype.kind in _ARRAY_KINDS:
                _DTYPES[text] = dtype
                return dtype
    raise WireError(
        f"dtype {brief(text)} is refused: only numeric, bool and complex dtypes in canonical "
        "form ('<f8', '|u1', '>i4') travel on the bus"
    )


_TEXTS: dict[np.dtype[Any], str] = {}  # accepted dtypes -> their wire text


def wire_text(dtype: np.dtype[Any]) -> str | None:
    """The wire string of ``dtype`` (``'<f8'``), or ``None`` for a dtype the bus refuses.

    The inverse of :func:`wire_dtype`, from a cache: ``dtype.str`` builds a new
    string each time, which is one of the slowest steps of sending an array.
    """
    text = _TEXTS.get(dtype)
    if text is None and dtype.kind in _ARRAY_KINDS:
        text = dtype.str
        if len(_TEXTS) < 1024:  # (bounded: the accepted kinds have few dtypes anyway)
            _TEXTS[dtype] = text
    return text


# ---------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class _WireType:
    cls: type
    name: str
    fields: tuple[str, ...]
    getter: Callable[[Any], Any]


_BY_CLASS: dict[type, _WireType] = {}
_BY_NAME: dict[str, _WireType] = {}


@overload
def register_wire_type(cls: T, /, name: str | None = None) -> T: ...
@overload
def register_wire_type(cls: None = None, /, name: str | None = None) -> Callable[[T], T]: ...
def register_wire_type(cls: T | None = None, /, name: str | None = None) -> T | Callable[[T], T]:
    """Register a frozen dataclass so that it may travel on the bus.

    Works as a call (``register_wire_type(Point, "Point")``) and as a decorator
    (``@register_wire_type`` or ``@register_wire_type(name="Point")``).

    Args:
        cls: The frozen dataclass. Every field must be an ``__init__`` argument,
            since decoding calls the constructor with the fields in order.
        name: Its name on the wire; by default ``module.QualName``. Both ends must
            register the class under the same name.

    Returns:
        ``cls`` itself (or a decorator when ``cls`` is not given).

    Raises:
        TypeError: ``cls`` is not a frozen dataclass, or has fields outside ``__init__``.
        RegistryError: The name or the class is already registered otherwise.
    """
    if cls is None:
        return lambda c: register_wire_type(c, name)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass; only frozen dataclasses travel on the bus")
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__qualname__} must be frozen (@dataclass(frozen=True))")
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields):
        raise TypeError(f"{cls.__qualname__}: every field must be an __init__ argument")
    wire_name = name if name is not None else f"{cls.__module__}.{cls.__qualname__}"
    names = tuple(f.name for f in fields)
    # attrgetter reads all fields in one C call; it returns a bare value for one field.
    getter: Callable[[Any], Any]
    if len(names) == 1:
        one = attrgetter(names[0])
        getter = lambda v: (one(v),)  # noqa: E731
    elif names:
        getter = attrgetter(*names)
    else:
        getter = lambda v: ()  # noqa: E731
    entry = _WireType(cls, wire_name, names, getter)
    old = _BY_NAME.get(wire_name)
    if old is not None and old.cls is not cls:
        if (old.cls.__module__, old.cls.__qualname__) != (cls.__module__, cls.__qualname__):
            raise RegistryError(f"wire type name {wire_name!r} is already taken by {old.cls!r}")
        del _BY_CLASS[old.cls]  # the same class from a reloaded module replaces the old one
    old = _BY_CLASS.get(cls)
    if old is not None and old.name != wire_name:
        raise RegistryError(f"{cls.__qualname__} is already registered as {old.name!r}")
    _BY_NAME[wire_name] = entry
    _BY_CLASS[cls] = entry
    return cls


def wire_types() -> dict[str, type]:
    """Return the registered wire types by wire name (a copy)."""
    return {name: entry.cls for name, entry in _BY_NAME.items()}


# ---------------------------------------------------------------- encoding


def encode_value(
    value: Any, *, root: str = "body", max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS
) -> tuple[Any, list[np.ndarray]]:
    """Turn ``value`` into a msgpack-able tree and the arrays that travel beside it.

    Args:
        value: Any supported value (see the module docstring).
        root: The name of ``value`` in error messages.
        max_depth: Most nested containers (lists, tuples, dicts, dataclasses).
        max_items: Most elements of one container.

    Returns:
        ``(tree, arrays)``: ``tree`` refers to ``arrays[i]`` as ``[3, i]``; every
        array is C-contiguous (non-contiguous input is copied).

    Raises:
        WireError: ``value`` holds something the bus does not carry; the message
            says what and where.
    """
    arrays: list[np.ndarray] = []
    t = type(value)
    if (
        t in _PLAIN_OUT
        or (t is int and _INT_MIN <= value <= _INT_MAX)
        or (t is bytes and len(value) <= BYTES_INLINE_MAX)
    ):
        return value, arrays
    if t is np.ndarray or (max_depth >= 2 and (t is tuple or t is list or t is dict)):
        tree = (
            _array_out(value, arrays) if t is np.ndarray else _shallow_out(value, arrays, max_items)
        )
        if tree is not _DEEP:
            return tree, arrays
        arrays.clear()
    try:
        tree = _Encoder(arrays, max_depth, max_items).enc(value, 0)
    except _Fail as fail:
        raise _wire_error(fail, root) from None
    return tree, arrays


class _Encoder:
    __slots__ = ("arrays", "max_depth", "max_items")

    def __init__(self, arrays: list[np.ndarray], max_depth: int, max_items: int):
        self.arrays = arrays
        self.max_depth = max_depth
        self.max_items = max_items

    def enc(self, v: Any, depth: int) -> Any:
        t = type(v)
        if t in _PLAIN_OUT:
            return v
        if t is int:
            if _INT_MIN <= v <= _INT_MAX:
                return v
            raise _Fail(f"{brief(v)} does not fit in 64 bits")
        if t is list or t is tuple:
            return self._sequence(v, _LIST if t is list else _TUPLE, depth)
        if t is dict:
            return self._dict(v, depth)
        if t is np.ndarray:
            return self._array(v)
        if t is bytes:
            if len(v) <= BYTES_INLINE_MAX:
                return v
            self.arrays.append(np.frombuffer(v, dtype=np.uint8))
            return [_BYTES, len(self.arrays) - 1]
        entry = _BY_CLASS.get(t)
        if entry is not None:
            return self._sequence(entry.getter(v), _DATACLASS, depth, entry)
        if isinstance(v, np.generic):
            if v.dtype.kind not in _ARRAY_KINDS:
                raise _Fail(f"numpy scalar of dtype {v.dtype.str!r} is refused")
            return [_SCALAR, v.dtype.str, v.tobytes()]
        if isinstance(v, Mapping):
            return self._dict(v, depth)
        if dataclasses.is_dataclass(v):
            raise _Fail(
                f"{t.__qualname__} is not a registered wire type "
                "(register it with brigade.bus.codec.register_wire_type)"
            )
        raise _Fail(f"a value of type {t.__qualname__} cannot travel on the bus")

    def _sequence(
        self, v: Sequence[Any], tag: int, depth: int, entry: _WireType | None = None
    ) -> list[Any]:
        if depth >= self.max_depth or len(v) > self.max_items:
            _refuse_container(len(v), depth, self.max_depth, self.max_items)
        out: list[Any] = [tag] if entry is None else [tag, entry.name]
        append = out.append
        plain = _PLAIN_OUT
        enc = self.enc
        depth += 1
        i = 0
        try:
            for i, x in enumerate(v):  # noqa: B007 (i names the failing item below)
                tx = type(x)
                if tx in plain or (tx is int and _INT_MIN <= x <= _INT_MAX):
                    append(x)
                else:
                    append(enc(x, depth))
        except _Fail as fail:
            fail.path.append(f"[{i}]" if entry is None else f".{entry.fields[i]}")
            raise
        return out

    def _dict(self, v: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        if depth >= self.max_depth or len(v) > self.max_items:
            _refuse_container(len(v), depth, self.max_depth, self.max_items)
        out: dict[Any, Any] = {}
        plain = _PLAIN_OUT
        enc = self.enc
        depth += 1
        for key, x in v.items():
            kt = type(key)
            if kt is not str and not (kt is int and _INT_MIN <= key <= _INT_MAX):
                raise _Fail(f"dict key {brief(key)}: keys are str or 64-bit int")
            try:
                out[key] = x if type(x) in plain else enc(x, depth)
            except _Fail as fail:
                fail.path.append(f"[{brief(key)}]")
                raise
        return out

    def _array(self, a: np.ndarray) -> list[int]:
        if a.dtype.kind not in _ARRAY_KINDS:
            raise _Fail(
                f"array of dtype {a.dtype.str!r} is refused: only numeric, bool and complex "
                "arrays travel on the bus"
            )
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        self.arrays.append(a)
        return [_ARRAY, len(self.arrays) - 1]


# ---------------------------------------------------------------- decoding


def decode_value(
    tree: Any,
    arrays: Sequence[np.ndarray],
    *,
    root: str = "body",
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
) -> Any:
    """Rebuild a value from a tree made by :func:`encode_value` (or sent by a peer).

    Args:
        tree: The tree, as msgpack unpacked it (lists for arrays, no tuples). It is
            consumed: its lists and dicts are reused, and may be changed, in place.
        arrays: The arrays the tree refers to; each must be referred to exactly once.
        root: The name of the value in error messages.
        max_depth: Most nested containers.
        max_items: Most elements of one container.

    Raises:
        WireError: The tree is malformed, names an unknown type, refers to a
            missing array, or a dataclass refused its values.
    """
    t = type(tree)
    if t in _PLAIN_IN and not arrays:
        return tree
    used = [False] * len(arrays)
    if max_depth >= 2 and (t is list or t is dict):
        value = _shallow_in(tree, arrays, used, max_items)
        if value is not _DEEP and all(used):
            return value
        used = [False] * len(arrays)
    try:
        value = _Decoder(arrays, used, max_depth, max_items).dec(tree, 0)
    except _Fail as fail:
        raise _wire_error(fail, root) from None
    if not all(used):
        missing = [i for i, u in enumerate(used) if not u]
        raise WireError(f"{root}: array frames {missing} are never referred to")
    return value


class _Decoder:
    __slots__ = ("arrays", "max_depth", "max_items", "used")

    def __init__(
        self, arrays: Sequence[np.ndarray], used: list[bool], max_depth: int, max_items: int
    ):
        self.arrays = arrays
        self.used = used
        self.max_depth = max_depth
        self.max_items = max_items

    # The tree is fresh from msgpack and used once, so containers are rebuilt in
    # place: only the items that are not plain values are replaced.

    def dec(self, v: Any, depth: int) -> Any:
        t = type(v)
        if t in _PLAIN_IN:
            return v
        if t is dict:
            return self._dict(v, depth)
        if t is not list:
            raise _Fail(f"unexpected msgpack value of type {t.__qualname__}")
        tag = v[0] if v else None
        if type(tag) is not int:  # (not bool: True == 1)
            raise _Fail("a list node must start with an int tag")
        if tag in (_LIST, _TUPLE):
            self._items(v, 1, depth, None)
            if tag == _TUPLE:
                return tuple(v[1:])
            del v[0]
            return v
        if tag == _DATACLASS:
            return self._dataclass(v, depth)
        if tag in (_ARRAY, _BYTES):
            return self._array(v, tag)
        if tag == _SCALAR:
            return self._scalar(v)
        raise _Fail(f"unknown node tag {tag}")

    def _items(self, v: list[Any], start: int, depth: int, fields: tuple[str, ...] | None) -> None:
        if depth >= self.max_depth or len(v) - start > self.max_items:
            _refuse_container(len(v) - start, depth, self.max_depth, self.max_items)
        plain = _PLAIN_IN
        dec = self.dec
        depth += 1
        i = start
        try:
            for i in range(start, len(v)):
                x = v[i]
                if type(x) not in plain:
                    v[i] = dec(x, depth)
        except _Fail as fail:
            fail.path.append(f"[{i - start}]" if fields is None else f".{fields[i - start]}")
            raise

    def _dict(self, v: dict[Any, Any], depth: int) -> dict[Any, Any]:
        if depth >= self.max_depth or len(v) > self.max_items:
            _refuse_container(len(v), depth, self.max_depth, self.max_items)
        plain = _PLAIN_IN
        dec = self.dec
        depth += 1
        for key, x in v.items():
            kt = type(key)
            if kt is not str and kt is not int:
                raise _Fail(f"dict key {brief(key)}: keys are str or int")
            if type(x) not in plain:
                try:
                    # Replacing a value keeps the dict's size: safe while iterating.
                    v[key] = dec(x, depth)
                except _Fail as fail:
                    fail.path.append(f"[{brief(key)}]")
                    raise
        return v

    def _dataclass(self, v: list[Any], depth: int) -> Any:
        if len(v) < 2 or type(v[1]) is not str:
            raise _Fail("a dataclass node is [2, name, fields...]")
        name = v[1]
        entry = _BY_NAME.get(name)
        if entry is None:
            hint = did_you_mean(name, _BY_NAME) if len(name) <= 100 else ""
            raise _Fail(f"unknown wire type {name!r:.100}{hint}")
        if len(v) - 2 != len(entry.fields):
            raise _Fail(f"{name} has {len(entry.fields)} fields, the message gives {len(v) - 2}")
        self._items(v, 2, depth, entry.fields)
        try:
            return entry.cls(*v[2:])
        except Exception as exc:  # any refusal of the constructor is the sender's fault
            raise _Fail(f"the values do not make a valid {name}: {exc}") from None

    def _array(self, v: list[Any], tag: int) -> Any:
        if len(v) != 2 or type(v[1]) is not int:
            raise _Fail("an array node is [3, index] (or [5, index] for bytes)")
        index = v[1]
        if not 0 <= index < len(self.arrays):
            raise _Fail(f"array frame {index} does not exist ({len(self.arrays)} sent)")
        if self.used[index]:
            raise _Fail(f"array frame {index} is referred to twice")
        self.used[index] = True
        array = self.arrays[index]
        if tag == _ARRAY:
            return array
        if array.dtype.str != "|u1" or array.ndim != 1:
            raise _Fail(f"bytes frame {index} must be 1-d '|u1'")
        return array.tobytes()

    def _scalar(self, v: list[Any]) -> Any:
        if len(v) != 3 or type(v[2]) is not bytes:
            raise _Fail("a numpy scalar node is [4, dtype, raw bytes]")
        try:
            dtype = wire_dtype(v[1])
        except WireError as exc:
            raise _Fail(str(exc)) from None
        if len(v[2]) != dtype.itemsize:
            raise _Fail(f"a {dtype.str} scalar has {dtype.itemsize} bytes, not {len(v[2])}")
        return np.frombuffer(v[2], dtype=dtype)[0]


# ---------------------------------------------------------------- shallow values
#
# Most messages carry a container of plain values and flat containers: a request's
# (method, args, kwargs, session), a shape, a pong's or an error's dict, a frame in
# an argument tuple. The functions below handle exactly those, two levels deep at
# most, in one call and a few loops: the general encoder and decoder cost a call
# per container, which is most of a small message's cost on a cold CPU (a process
# that just woke up to a message). Anything else (a registered dataclass, a numpy
# scalar, big bytes, a deeper tree, a malformed node, a broken bound) makes them
# return _DEEP, without a side effect on the value or the tree, and the general
# path takes it (so every refusal, and its message, comes from one place). Both
# need max_depth >= 2: the outer container is at depth 0, a flat one at depth 1.
# tests/bus/test_fast_paths.py checks that they agree with the general path.

_DEEP: Any = object()  # "not shallow": take the general path


def _shallow_out(v: Any, arrays: list[np.ndarray], max_items: int) -> Any:
    """The tree of a shallow list, tuple or dict, or _DEEP (see above)."""
    if len(v) > max_items:
        return _DEEP
    plain = _PLAIN_OUT
    if type(v) is dict:
        out: Any = {}
        for key, x in v.items():
            kt = type(key)
            if kt is not str and not (kt is int and _INT_MIN <= key <= _INT_MAX):
                return _DEEP
            tx = type(x)
            if (
                tx in plain
                or (tx is int and _INT_MIN <= x <= _INT_MAX)
                or (tx is bytes and len(x) <= BYTES_INLINE_MAX)
            ):
                out[key] = x
            else:
                x = _flat_out(x, arrays, max_items)
                if x is _DEEP:
                    return _DEEP
                out[key] = x
        return out
    out = [_TUPLE if type(v) is tuple else _LIST]
    append = out.append
    for x in v:
        tx = type(x)
        if (
            tx in plain
            or (tx is int and _INT_MIN <= x <= _INT_MAX)
            or (tx is bytes and len(x) <= BYTES_INLINE_MAX)
        ):
            append(x)
        elif tx is dict and not x:  # (a request's usual kwargs)
            append({})
        else:
            x = _flat_out(x, arrays, max_items)
            if x is _DEEP:
                return _DEEP
            append(x)
    return out


def _flat_out(x: Any, arrays: list[np.ndarray], max_items: int) -> Any:
    """The tree of an array, or of a container of plain values and arrays; or _DEEP."""
    t = type(x)
    if t is np.ndarray:
        return _array_out(x, arrays)
    if len(x) > max_items if (t is tuple or t is list or t is dict) else True:
        return _DEEP
    plain = _PLAIN_OUT
    if t is dict:
        out: Any = {}
        for key, y in x.items():
            kt, ty = type(key), type(y)
            if kt is not str and not (kt is int and _INT_MIN <= key <= _INT_MAX):
                return _DEEP
            if not (
                ty in plain
                or (ty is int and _INT_MIN <= y <= _INT_MAX)
                or (ty is bytes and len(y) <= BYTES_INLINE_MAX)
            ):
                return _DEEP
            out[key] = y
        return out
    out = [_TUPLE if t is tuple else _LIST]
    append = out.append
    for y in x:
        ty = type(y)
        if (
            ty in plain
            or (ty is int and _INT_MIN <= y <= _INT_MAX)
            or (ty is bytes and len(y) <= BYTES_INLINE_MAX)
        ):
            append(y)
        elif ty is np.ndarray:
            y = _array_out(y, arrays)
            if y is _DEEP:
                return _DEEP
            append(y)
        else:
            return _DEEP
    return out


def _array_out(a: np.ndarray, arrays: list[np.ndarray]) -> Any:
    if a.dtype not in _TEXTS and wire_text(a.dtype) is None:
        return _DEEP
    arrays.append(a if a.flags.c_contiguous else a.copy(order="C"))
    return [_ARRAY, len(arrays) - 1]


def _shallow_in(v: Any, arrays: Sequence[np.ndarray], used: list[bool], max_items: int) -> Any:
    """The value of a shallow list node or dict, or _DEEP (see above); ``v`` is left as is."""
    plain = _PLAIN_IN
    if type(v) is dict:
        if len(v) > max_items:
            return _DEEP
        out: Any = {}
        for key, x in v.items():
            kt = type(key)
            if kt is not str and kt is not int:
                return _DEEP
            if type(x) not in plain:
                x = _flat_in(x, arrays, used, max_items)
                if x is _DEEP:
                    return _DEEP
            out[key] = x
        return out
    tag = v[0] if v else None
    if type(tag) is not int or (tag != _TUPLE and tag != _LIST):
        return _flat_in(v, arrays, used, max_items)  # (an array node, or _DEEP)
    if len(v) - 1 > max_items:
        return _DEEP
    out = v[1:]
    for i, x in enumerate(out):
        if type(x) in plain or x == {}:  # ({}: a request's usual kwargs)
            continue
        first = x[0] if type(x) is list and x else None
        if type(first) is int and first in (_TUPLE, _LIST):
            # A flat container (a request's args), inline: a call costs more.
            if len(x) - 1 > max_items:
                return _DEEP
            items = x[1:]
            for j, y in enumerate(items):
                if type(y) not in plain:
                    y = _array_in(y, arrays, used)
                    if y is _DEEP:
                        return _DEEP
                    items[j] = y
            out[i] = tuple(items) if first == _TUPLE else items
            continue
        x = _flat_in(x, arrays, used, max_items)
        if x is _DEEP:
            return _DEEP
        out[i] = x
    return tuple(out) if tag == _TUPLE else out


def _flat_in(x: Any, arrays: Sequence[np.ndarray], used: list[bool], max_items: int) -> Any:
    """The value of an array node, or of a flat container node or dict; or _DEEP."""
    t = type(x)
    plain = _PLAIN_IN
    if t is dict:
        if len(x) > max_items:
            return _DEEP
        for key, y in x.items():
            kt = type(key)
            if (kt is not str and kt is not int) or type(y) not in plain:
                return _DEEP
        return x  # (all plain: nothing to replace)
    tag = x[0] if t is list and x else None
    if type(tag) is not int:
        return _DEEP
    if tag == _ARRAY:
        return _array_in(x, arrays, used)
    if (tag != _TUPLE and tag != _LIST) or len(x) - 1 > max_items:
        return _DEEP
    items = x[1:]
    for i, y in enumerate(items):
        if type(y) not in plain:
            y = _array_in(y, arrays, used)
            if y is _DEEP:
                return _DEEP
            items[i] = y
    return tuple(items) if tag == _TUPLE else items


def _array_in(x: Any, arrays: Sequence[np.ndarray], used: list[bool]) -> Any:
    """The array an ``[3, index]`` node names, the first time it is named; or _DEEP."""
    if type(x) is list and len(x) == 2:
        tag, index = x
        if type(tag) is int and tag == _ARRAY and type(index) is int:
            if 0 <= index < len(arrays) and not used[index]:
                used[index] = True
                return arrays[index]
    return _DEEP


# ---------------------------------------------------------------- the core types


def _register_core_types() -> None:
    # Short names: they travel in every message that carries one.
    from brigade.action import Action
    from brigade.arm import Feature
    from brigade.chat import ChatRequest, Completion, Message, SamplingParams, Usage
    from brigade.critic import CriticState, Scores
    from brigade.plan import JointPlan, Outcome
    from brigade.policy import ActionChunk
    from brigade.progress import ProgressEstimate

    core = (Action, JointPlan, Outcome, CriticState, Scores)
    control = (ActionChunk, ProgressEstimate, Feature)
    chat = (Message, SamplingParams, Usage, Completion, ChatRequest)
    for cls in (*core, *chat, *control):
        register_wire_type(cls, cls.__name__)


_register_core_types()

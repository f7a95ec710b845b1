"""The request/reply protocol between a client and a node: message kinds and bodies.

Every message is an :class:`~brigade.bus.wire.Envelope` (see :mod:`brigade.bus.wire`).
A client's DEALER talks to a node's ROUTER:

- ``request`` (seq >= 1): body ``(method, args, kwargs, session)``, where
  ``session`` is the node instance the client's session runs on (``None``:
  any). Answered with the same seq by ``reply`` (the result) or ``error``
  (``{"type", "message", "mro", "attrs"}``, see :func:`error_body`). The reply's
  trace ends with the node's hop ``(node, instance, t_receive_ns, t_reply_ns)``.
- ``ping``: body the seq of the request the client waits for, or ``None``.
  Answered by ``pong``: ``{"instance", "service", "busy", "busy_s", "request",
  "echo"}``: ``busy`` is the method running (or ``None``); ``request`` what
  became of the request the client waits for: ``running`` (queued or
  running), ``answered`` (its reply was sent: it got lost, since the pong came
  after it), ``missing`` (it never arrived), or ``None``; a client re-sends an
  answered or missing request, and the node re-sends its reply or runs it.
  ``echo`` is the ping's ``(t_mono_ns, t_wall_ns)``, for the clock estimate.
- ``bye``: the client leaves; the node forgets it without a warning.
- a message the node cannot decode is answered by an ``error`` with seq 0.

Errors cross by name: a client re-raises brigade's own error classes (the first
:class:`~brigade.errors.BrigadeError` of :mod:`brigade.errors` along the remote
class's ancestors) as the same class, with the same message and attributes, so
callers' ``except`` clauses keep working; anything else is a
:class:`~brigade.errors.RemoteError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from brigade import errors as _errors
from brigade.bus.services import Service
from brigade.bus.wire import Envelope, Limits, encode_message
from brigade.errors import BrigadeError, NodeUnavailableError, RemoteError, WireError

__all__ = [
    "Pong",
    "check_request",
    "error_body",
    "node_hop",
    "pong_body",
    "raise_remote",
    "recv_rest",
    "reply_frames",
    "send_frames",
    "writable",
]

_PLAIN = (str, int, float, bool, type(None))


# ---------------------------------------------------------------- errors


def _brigade_errors() -> dict[str, type[BrigadeError]]:
    found: dict[str, type[BrigadeError]] = {}
    for value in vars(_errors).values():
        if isinstance(value, type) and issubclass(value, BrigadeError):
            found[value.__name__] = value
    return found


#: The classes a client may rebuild: brigade's own errors, by name.
_ERRORS = _brigade_errors()


def error_body(exc: BaseException) -> dict[str, Any]:
    """An exception as the body of an ``error`` reply (type, message, ancestors, attributes)."""
    mro = [c.__name__ for c in type(exc).__mro__ if issubclass(c, BrigadeError)]
    attrs = {}
    for key, value in vars(exc).items():
        if type(key) is str and not key.startswith("_") and type(value) in _PLAIN:
            if type(value) is not str or len(value) <= 4096:
                attrs[key] = value
    return {"type": type(exc).__name__, "message": str(exc)[:8192], "mro": mro, "attrs": attrs}


def raise_remote(node: str, body: object) -> BaseException:
    """The exception to raise for an ``error`` reply's body (returned, for ``raise``).

    The first of the remote class's ancestors that :mod:`brigade.errors` defines
    is rebuilt with the remote message and attributes (its constructor is not
    called: the message is already formatted). Anything else is a RemoteError.
    """
    if type(body) is not dict:
        return RemoteError(node, "?", f"a malformed error reply: {type(body).__name__}")
    name = str(body.get("type", "?"))[:128]
    message = str(body.get("message", ""))
    mro = body.get("mro")
    for ancestor in mro if type(mro) is list else []:
        cls = _ERRORS.get(ancestor) if type(ancestor) is str else None
        if cls is None:
            continue
        exc = cls.__new__(cls)
        Exception.__init__(exc, message if ancestor == name else f"{name}: {message}")
        attrs = body.get("attrs")
        for key, value in attrs.items() if type(attrs) is dict else ():
            if type(key) is str and not key.startswith("_") and type(value) in _PLAIN:
                setattr(exc, key, value)
        if not (isinstance(exc, RemoteError) and ancestor == name):  # (it names its node)
            note = getattr(exc, "add_note", None)  # Python >= 3.11
            if note is not None:
                note(f"(raised by bus node {node!r})")
        return exc
    return RemoteError(node, name, message)


# ---------------------------------------------------------------- node side


def check_request(
    body: object, service: Service, node: str, instance: str
) -> tuple[str, tuple[Any, ...], dict[str, Any]] | dict[str, Any]:
    """The call a request's body asks for, or the ``error`` body that refuses it.

    Refused: a malformed body; a name the service does not serve (never an
    arbitrary attribute); and, for a stateful service, a session that began on
    another instance of the node (it restarted and lost its state), unless the
    method starts a new session.
    """
    if (
        type(body) is not tuple
        or len(body) != 4
        or type(body[1]) is not tuple
        or type(body[2]) is not dict
    ):
        return error_body(
            WireError("a request's body is (method, args tuple, kwargs dict, session)")
        )
    method, args, kwargs, session = body
    refusal = service.refusal(method)
    if refusal is not None:
        return {"type": "AttributeError", "message": refusal, "mro": [], "attrs": {}}
    if (
        service.stateful
        and session is not None
        and session != instance
        and method not in service.session_start
    ):
        starts = " or ".join(f"{m}()" for m in sorted(service.session_start))
        return error_body(
            NodeUnavailableError(
                f"node {node!r} restarted: its state is lost (the session began on instance "
                f"{session}, this is {instance}); start a new session with {starts}"
            )
        )
    return method, args, kwargs


def reply_frames(
    kind: str,
    request: Envelope,
    result: Any,
    node: str,
    instance: str,
    t_recv: int,
    t_reply: int,
    t_mono: int,
    limits: Limits,
) -> list[Any]:
    """Encode the ``reply`` or ``error`` to ``request``, with the node's hop in its trace.

    ``request`` is a decoded message (its trace was checked under ``limits``).

    Raises:
        WireError: The result cannot travel on the bus.
    """
    hop = (node, instance, t_recv, t_reply)
    trace = request.trace
    trace = (*trace[-(limits.max_trace - 1) :], hop) if trace else (hop,)
    # The request's entries were checked when it was decoded; the hop's values are
    # checked here (node and t_reply are also the sender and the time, checked by
    # encode_message), so the trace's entries need no second look.
    checked = (
        type(instance) is str
        and len(instance) <= limits.max_name_len
        and type(t_recv) is int
        and -(2**63) <= t_recv < 2**63
    )
    return encode_message(
        kind, node, request.seq, result, t_mono, t_reply, trace, limits, checked_trace=checked
    )


def pong_body(
    instance: str,
    service: str,
    busy: str | None,
    busy_s: float,
    request: str | None,
    ping: Envelope,
) -> dict[str, Any]:
    """The body of the ``pong`` answering ``ping``."""
    return {
        "instance": instance,
        "service": service,
        "busy": busy,
        "busy_s": busy_s,
        "request": request,
        "echo": (ping.t_mono_ns, ping.t_wall_ns),
    }


# ---------------------------------------------------------------- client side


@dataclass(frozen=True)
class Pong:
    """A pong's body, checked (a field of the wrong type reads as ``None``).

    Attributes:
        instance: The node's instance id.
        service: The service it serves.
        busy: The method it was running.
        request: What became of the request the ping asked about (``running``,
            ``answered``, ``missing``), or ``None``.
        echo: The ping's ``(t_mono_ns, t_wall_ns)``.
    """

    instance: str | None
    service: str | None
    busy: str | None
    request: str | None
    echo: tuple[int, int] | None

    @classmethod
    def parse(cls, body: object) -> Pong:
        """Read a pong's body."""
        b = body if type(body) is dict else {}
        echo = b.get("echo")
        good_echo = type(echo) is tuple and len(echo) == 2 and all(type(t) is int for t in echo)

        def text(key: str) -> str | None:
            value = b.get(key)
            return value if type(value) is str else None

        return cls(
            text("instance"),
            text("service"),
            text("busy"),
            text("request"),
            echo if good_echo else None,
        )


def node_hop(reply: Envelope) -> tuple[str, int, int] | None:
    """The node's ``(instance, t_receive_ns, t_reply_ns)`` from a reply's trace, if well-formed."""
    hop = reply.trace[-1] if reply.trace else ()
    if len(hop) == 4 and type(hop[1]) is str and type(hop[2]) is int and type(hop[3]) is int:
        return hop[1], hop[2], hop[3]
    return None


# ---------------------------------------------------------------- sockets

_SNDMORE = int(zmq.SNDMORE)  # (a plain int: pyzmq's enum members are slow to combine)


def send_frames(
    sock: zmq.Socket[Any], frames: list[Any], flags: int = 0, identity: bytes | None = None
) -> None:
    """Send encoded frames as one message, after a ROUTER's ``identity`` frame if given.

    What ``send_multipart([identity, *frames], flags, copy=False)`` does, at a
    fraction of its cost per call: the header is copied (it is small), the array
    frames are sent zero-copy (pyzmq still copies those under ``zmq.COPY_THRESHOLD``).
    Only the first frame can raise ``zmq.Again`` (with ``NOBLOCK``): the others of
    a message that was queued always are.
    """
    more = flags | _SNDMORE
    if identity is not None:
        sock.send(identity, more)
    last = len(frames) - 1
    if last == 0:
        sock.send(frames[0], flags)
        return
    sock.send(frames[0], more)
    for i in range(1, last):
        sock.send(frames[i], more, copy=False)
    sock.send(frames[last], flags, copy=False)


def recv_rest(sock: zmq.Socket[Any], frames: list[Any], flags: int = 0) -> None:
    """Append the other frames of a message whose first frames were received (zero-copy).

    ``recv_multipart(copy=False)`` at a fraction of its cost: each ``zmq.Frame`` says
    itself whether more follow.
    """
    while True:
        frame = sock.recv(flags, copy=False)
        frames.append(frame)
        if not frame.more:
            return


# ---------------------------------------------------------------- values


def writable(value: Any) -> Any:
    """Make the arrays of a decoded value writable, in place; returns ``value``.

    Decoded arrays are read-only views over the received frames. The receiver
    owns those frames alone, so handing out writable arrays is safe, and it
    keeps remote calls like local ones (``torch.from_numpy`` warns on read-only
    arrays; callers may write into what a local component returned).
    """
    t = type(value)
    if t is np.ndarray:
        if not value.flags.writeable:
            with contextlib.suppress(ValueError):  # (a bytes-backed frame stays read-only)
                value.flags.writeable = True
    elif t is tuple or t is list:
        for item in value:
            if type(item) not in _PLAIN:
                writable(item)
    elif t is dict:
        for item in value.values():
            if type(item) not in _PLAIN:
                writable(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            writable(getattr(value, f.name))
    return value

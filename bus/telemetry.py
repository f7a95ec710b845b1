"""Telemetry: frames, scores and states over PUB/SUB, latest value first.

A :class:`Publisher` binds an XPUB socket; each message is a topic frame, then
the frames of a ``telemetry`` message (:mod:`brigade.bus.wire`). A
:class:`Subscriber` connects a SUB socket to the topics it wants (prefixes, as
ZeroMQ matches them).

Late readers get the latest data, not a backlog. ZeroMQ drops the *newest*
messages when a high-water mark is reached, so a reader that lets its socket
fill up would be left with stale ones; instead a :class:`Subscriber` drains its
socket in a background thread and keeps only the newest few messages (4 by
default), dropping the oldest, and :meth:`Subscriber.latest` returns the newest.
The publisher keeps a small send high-water mark too, so a reader that cannot
keep up (a slow network) costs it no memory: what does not fit is dropped. The
price is that readers miss messages (counted: ``skipped``, ``dropped``):
telemetry is for values that supersede each other (frames, scores, states);
anything that must arrive goes by request/reply.

Slow joiners: a SUB socket's subscriptions reach the publisher some time after
it connects, and whatever is published before that is lost. The publisher's
XPUB socket is verbose, so it sees every subscription; each subscriber also
subscribes to a private hello topic, which lets
:meth:`Publisher.wait_for_subscribers` count subscribers and wait for them
before publishing the first message.

Messages that do not decode are counted and skipped, never fatal. A publisher
belongs to one thread; a subscriber may be read from any.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

import zmq

from brigade.bus.closing import Closing
from brigade.bus.protocol import writable
from brigade.bus.security import SecurityConfig, secure_bind, secure_connect, stop_authenticator
from brigade.bus.wire import (
    DEFAULT_LIMITS,
    Envelope,
    Limits,
    bare_envelope,
    decode,
    encode,
    zmq_max_msg_size,
)
from brigade.errors import WireError

__all__ = ["Publisher", "Sample", "Subscriber"]

_HELLO = b"\x00brigade.hello/"  # (a topic nobody publishes on: it starts with a zero byte)
_DEFAULT_HWM = 4


@dataclass(frozen=True)
class Sample:
    """One telemetry message.

    Attributes:
        topic: Its topic.
        message: The decoded message (``body``, ``seq``, ``sender``, timestamps).
    """

    topic: str
    message: Envelope

    @property
    def body(self) -> Any:
        """The published value."""
        return self.message.body


class Publisher(Closing):
    """Publishes telemetry on an XPUB socket (see the module docstring).

    Args:
        name: The publisher's name (the messages' sender).
        address: The endpoint to bind; port 0 takes a free port (``.address``).
        security: Keys; ``None``: plain, loopback only.
        hwm: The send high-water mark, per subscriber.
        limits: Bounds on messages.
        context: A ZeroMQ context (not terminated on close); its own by default.
    """

    def __init__(
        self,
        name: str,
        address: str = "tcp://127.0.0.1:0",
        *,
        security: SecurityConfig | None = None,
        hwm: int = _DEFAULT_HWM,
        limits: Limits = DEFAULT_LIMITS,
        context: zmq.Context[Any] | None = None,
    ):
        self.name = name
        self.limits = limits
        self._own_context = context is None
        self._context: zmq.Context[Any] = zmq.Context() if context is None else context
        self._sock: zmq.Socket[Any] = self._context.socket(zmq.XPUB)
        self._seq = 0
        self._hellos: set[bytes] = set()
        self._closed = False
        #: Subscriptions seen by topic (hello topics left out), for diagnostics.
        self.topics: dict[bytes, int] = {}
        try:
            sock = self._sock
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, hwm)
            sock.setsockopt(zmq.MAXMSGSIZE, zmq_max_msg_size(limits))
            sock.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscription, not only a topic's first
            sock.setsockopt(zmq.XPUB_VERBOSER, 1)  # and every unsubscription
            self.address = secure_bind(sock, address, security or SecurityConfig())
        except BaseException:
            self._sock.close(linger=0)
            self._release_context()
            raise

    @property
    def subscribers(self) -> int:
        """The subscribers known now (after reading the pending subscriptions)."""
        self._read_subscriptions()
        return len(self._hellos)

    def _read_subscriptions(self) -> None:
        sock = self._sock
        while cast(int, sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            event = sock.recv(zmq.NOBLOCK)
            subscribe, topic = event[:1] == b"\x01", event[1:]
            if topic.startswith(_HELLO):
                if subscribe:
                    self._hellos.add(topic)
                else:
                    self._hellos.discard(topic)
            else:
                count = self.topics.get(topic, 0) + (1 if subscribe else -1)
                if count > 0:
                    self.topics[topic] = count
                else:
                    self.topics.pop(topic, None)

    def wait_for_subscribers(self, n: int = 1, timeout_s: float = 5.0) -> bool:
        """Wait until ``n`` subscribers have subscribed; ``False`` after ``timeout_s``.

        Call it before the first :meth:`publish` whose message must not be lost.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self._read_subscriptions()
            if len(self._hellos) >= n:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._sock.poll(max(1, int(left * 1000)), zmq.POLLIN)

    def publish(self, topic: str, body: Any) -> int:
        """Publish ``body`` on ``topic``; returns its seq. Never blocks.

        Raises:
            WireError: ``body`` cannot travel on the bus (too large, a refused type).
        """
        self._read_subscriptions()
        self._seq += 1
        message = bare_envelope(
            "telemetry", self.name, self._seq, body, time.monotonic_ns(), time.time_ns()
        )
        frames = encode(message, self.limits)
        with contextlib.suppress(zmq.Again):  # (XPUB drops at the high-water mark anyway)
            self._sock.send_multipart([topic.encode(), *frames], zmq.NOBLOCK, copy=False)
        return self._seq

    def close(self) -> None:
        """Close the socket (and the context the publisher made)."""
        if not self._closed:
            self._closed = True
            self._sock.close(linger=0)
            self._release_context()

    def _release_context(self) -> None:
        if self._own_context:
            stop_authenticator(self._context)
            self._context.term()


class Subscriber(Closing):
    """Reads telemetry from a :class:`Publisher` (see the module docstring).

    A background thread drains the socket as messages arrive and keeps the
    newest ``hwm`` of them, dropping the oldest: the transport never backs up,
    and a reader that comes late finds the latest values, not a backlog.
    :meth:`recv` takes the oldest kept, :meth:`latest` the newest (and drops the rest).

    Args:
        address: The publisher's endpoint.
        topics: Topic prefixes to receive (``""``: everything).
        security: Keys; ``None``: plain, loopback only.
        server_key: The publisher's public key, for CURVE.
        hwm: Messages kept for the reader (and the socket's receive high-water mark).
        limits: Bounds on messages.
        context: The ZeroMQ context; the process-wide one by default.

    Attributes:
        received: Messages received and decoded.
        errors: Messages that did not decode (skipped).
        skipped: Messages superseded before they were read (the reader was late).
        dropped: Messages never received (dropped by the publisher at its
            high-water mark), from the gaps in each sender's seq numbers.
    """

    def __init__(
        self,
        address: str,
        topics: tuple[str, ...] | list[str] = ("",),
        *,
        security: SecurityConfig | None = None,
        server_key: str | bytes | None = None,
        hwm: int = _DEFAULT_HWM,
        limits: Limits = DEFAULT_LIMITS,
        context: zmq.Context[Any] | None = None,
    ):
        if hwm < 1:
            raise ValueError("hwm keeps at least one message")
        self.address = address
        self.limits = limits
        self.received = 0
        self.errors = 0
        self.skipped = 0
        self.dropped = 0
        self._last_seq: dict[str, int] = {}
        self._kept: deque[Sample] = deque(maxlen=hwm)
        self._ready = threading.Condition()
        self._stop = threading.Event()
        ctx = context if context is not None else zmq.Context.instance()
        self._sock: zmq.Socket[Any] = ctx.socket(zmq.SUB)
        try:
            sock = self._sock
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RCVHWM, hwm)
            sock.setsockopt(zmq.MAXMSGSIZE, zmq_max_msg_size(limits))
            sock.setsockopt(zmq.SUBSCRIBE, _HELLO + secrets.token_hex(8).encode())
            for topic in topics:
                sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
            secure_connect(sock, address, security or SecurityConfig(), server_key)
        except BaseException:
            self._sock.close(linger=0)
            raise
        self._pump = threading.Thread(target=self._run, name="subscriber", daemon=True)
        self._pump.start()

    # ------------------------------------------------------------ the pump thread

    def _run(self) -> None:
        sock = self._sock
        try:
            while not self._stop.is_set():
                if not sock.poll(50, zmq.POLLIN):
                    continue
                while (frames := self._read()) is not None:
                    sample = self._decode(frames)
                    if sample is not None:
                        with self._ready:
                            if len(self._kept) == self._kept.maxlen:
                                self.skipped += 1
                            self._kept.append(sample)
                            self._ready.notify_all()
        finally:
            sock.close(linger=0)

    def _read(self) -> list[Any] | None:
        sock = self._sock
        try:
            frames: list[Any] = [sock.recv(zmq.NOBLOCK)]
        except zmq.Again:
            return None
        while sock.getsockopt(zmq.RCVMORE):
            frames.append(sock.recv(copy=False))
        return frames

    def _decode(self, frames: list[Any]) -> Sample | None:
        try:
            if len(frames) < 2:
                raise WireError("a telemetry message is a topic frame and a message")
            topic = bytes(frames[0]).decode()
            message = decode(frames[1:], self.limits)
        except (WireError, UnicodeDecodeError):
            self.errors += 1
            return None
        if len(frames) > 2:
            writable(message.body)
        self.received += 1
        last = self._last_seq.get(message.sender)
        if last is not None and message.seq > last + 1:
            self.dropped += message.seq - last - 1
        self._last_seq[message.sender] = message.seq
        return Sample(topic, message)

    # ------------------------------------------------------------ reading

    def _wait(self, timeout_s: float | None) -> bool:
        """Wait (holding the condition) until a message is kept; ``False`` after the timeout."""
        return self._ready.wait_for(lambda: bool(self._kept) or self._stop.is_set(), timeout_s)

    def recv(self, timeout_s: float | None = None) -> Sample | None:
        """The oldest message kept, waiting up to ``timeout_s`` (``None``: forever)."""
        with self._ready:
            if not self._wait(timeout_s) or not self._kept:
                return None
            return self._kept.popleft()

    def latest(self, timeout_s: float | None = 0.0) -> Sample | None:
        """The newest message, waiting up to ``timeout_s`` if none is kept; drops the older."""
        with self._ready:
            if not self._wait(timeout_s) or not self._kept:
                return None
            newest = self._kept.pop()
            self.skipped += len(self._kept)
            self._kept.clear()
            return newest

    def close(self) -> None:
        """Stop the pump thread (which closes the socket)."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        self._pump.join(5.0)

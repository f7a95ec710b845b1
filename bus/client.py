"""The client side of a node: calls with liveness, bounded retries and health.

A :class:`Client` owns one DEALER socket. :meth:`Client.call` sends a request
and waits; any message from the node (a pong, a reply) is a sign of life.
While it waits longer than ``heartbeat_s`` it pings the node; with no sign of
life for ``liveness_s`` it drops the socket (LINGER 0: a fresh DEALER never
sticks like a REQ after a lost reply), reconnects and re-sends the same request
(the node runs a request at most once), up to ``retries`` times with a short
backoff, then raises :class:`~brigade.errors.NodeUnavailableError`. A pong that
says the node never got the request, or answered it while no reply arrived
(dropped with a broken connection), makes the client re-send it at once: the
node runs it, or sends the same reply again. ``timeout_s`` bounds a whole call
even while the node is alive but slow. Nothing waits forever.

The client keeps one routing id for its life, so a re-sent request after a
reconnect still finds its reply cached on the node. It remembers the node
instance its session runs on: a stateful node (an environment, an arm) that
restarted refuses to continue the session, and the call raises
``NodeUnavailableError("node X restarted ...")``; the session-starting call
(``reset``, ``connect``) accepts the new instance.

Thread-safety: a client serializes its calls with a lock, so threads may share
one, but their calls run one after the other; use one client per thread for
parallel calls.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import threading
import time
from typing import Any, cast

import zmq
from zmq.utils.monitor import recv_monitor_message

from brigade.bus.clock import ClockEstimator, Health
from brigade.bus.closing import Closing
from brigade.bus.protocol import Pong, raise_remote, recv_rest, send_frames
from brigade.bus.security import SecurityConfig, secure_connect
from brigade.bus.wire import (
    DEFAULT_LIMITS,
    Envelope,
    Limits,
    decode,
    encode,
    encode_message,
    zmq_max_msg_size,
)
from brigade.errors import NodeUnavailableError, WireError

__all__ = ["Client", "Health"]

log = logging.getLogger("brigade.bus")

# Plain ints: pyzmq's enum members cost a microsecond per socket call on the hot path.
_NOBLOCK = int(zmq.NOBLOCK)

_HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


class Client(Closing):
    """Calls a node's component (see the module docstring).

    Args:
        address: The node's endpoint (``tcp://host:port``).
        name: This client's name, sent in its messages.
        security: Keys; ``None``: plain, loopback only.
        server_key: The node's public key (anything ``public_key`` takes) for CURVE.
        timeout_s: The default bound on a whole call, or ``None`` for none.
        liveness_s: Silence after which the node is presumed gone (then reconnect).
        retries: Reconnects and re-sends before giving up.
        heartbeat_s: Ping interval while waiting; ``liveness_s / 4`` by default.
        backoff_s: Pause before the first re-send; it grows linearly.
        limits: Bounds on messages (should match the node's).
        context: The ZeroMQ context; the process-wide one by default.
        keepalive: Ping the node from a background thread while idle, so a node
            with a short ``client_timeout_s`` (an arm's watchdog) keeps the session.
    """

    def __init__(
        self,
        address: str,
        *,
        name: str = "client",
        security: SecurityConfig | None = None,
        server_key: str | bytes | None = None,
        timeout_s: float | None = None,
        liveness_s: float = 1.0,
        retries: int = 2,
        heartbeat_s: float | None = None,
        backoff_s: float = 0.05,
        limits: Limits = DEFAULT_LIMITS,
        context: zmq.Context[Any] | None = None,
        keepalive: bool = False,
    ):
        if liveness_s <= 0 or retries < 0 or (timeout_s is not None and timeout_s <= 0):
            raise ValueError("liveness_s and timeout_s must be positive, retries at least 0")
        self.address = address
        self.name = name
        self.security = security if security is not None else SecurityConfig()
        self.server_key = server_key
        self.timeout_s = timeout_s
        self.liveness_s = liveness_s
        self.retries = retries
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else liveness_s / 4
        self.backoff_s = backoff_s
        self.limits = limits
        self._context = context if context is not None else zmq.Context.instance()
        self._identity = f"{name[:32]}-{secrets.token_hex(6)}".encode()
        self._lock = threading.Lock()
        self._closed = False
        self._seq = 0
        self._ping_seq = 0
        self._rcvtimeo = -1
        self._session: str | None = None  # the node instance the session runs on
        self.node_name: str | None = None
        self.instance: str | None = None
        self.service: str | None = None
        self._busy: str | None = None
        self._heard: float | None = None
        self._waiting_since: float | None = None
        self._lost = False
        self._handshake: int | None = None  # the last handshake failure event, if any
        self._counts = {"calls": 0, "retries": 0, "failures": 0}
        self.clock = ClockEstimator()
        self._sock, self._monitor = self._open()
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        if keepalive:
            self._keeper = threading.Thread(
                target=self._keepalive, name=f"client-{name}-keepalive", daemon=True
            )
            self._keeper.start()

    # ------------------------------------------------------------ sockets

    def _open(self) -> tuple[zmq.Socket[Any], zmq.Socket[Any]]:
        sock: zmq.Socket[Any] = self._context.socket(zmq.DEALER)
        monitor: zmq.Socket[Any] | None = None
        try:
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, zmq_max_msg_size(self.limits))
            # One routing id for the client's life: after a reconnect the node still
            # knows the client, and a re-sent request finds its cached reply.
            sock.setsockopt(zmq.ROUTING_ID, self._identity)
            # Handshake events say why a node stays silent (a refused key).
            monitor = sock.get_monitor_socket(_HANDSHAKE_EVENTS)
            secure_connect(sock, self.address, self.security, self.server_key)
        except BaseException:
            if monitor is not None:
                monitor.close(linger=0)
            sock.close(linger=0)
            raise
        self._rcvtimeo = -1
        return sock, monitor

    def _shut(self) -> None:
        self._read_monitor()
        with contextlib.suppress(zmq.ZMQError):
            self._sock.disable_monitor()
        self._monitor.close(linger=0)
        self._sock.close(linger=0)

    def _reconnect(self) -> None:
        self._shut()
        self._sock, self._monitor = self._open()

    def _read_monitor(self) -> None:
        while cast(int, self._monitor.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            event = recv_monitor_message(self._monitor, zmq.NOBLOCK)["event"]
            self._handshake = None if event == zmq.EVENT_HANDSHAKE_SUCCEEDED else int(event)

    def _send(self, frames: list[Any]) -> None:
        try:
            send_frames(self._sock, frames, _NOBLOCK)
        except zmq.Again:  # no connection and the queue is full: the silence will tell
            log.debug("client %s: could not queue a message for %s", self.name, self.address)

    def _recv(self, timeout_s: float) -> Envelope | None:
        """The next message within ``timeout_s``, or ``None``; anything heard counts as life."""
        ms = max(0, math.ceil(timeout_s * 1000))
        sock = self._sock
        if ms != self._rcvtimeo:
            sock.setsockopt(zmq.RCVTIMEO, ms)
            self._rcvtimeo = ms
        try:
            # The header comes as a zmq.Frame: it says whether arrays follow (asking the
            # socket costs more); the arrays' frames are used without a copy.
            head = sock.recv(copy=False)
        except zmq.Again:
            return None
        frames: list[Any] = [head.bytes]
        if head.more:
            recv_rest(sock, frames, 0)
        self._heard = time.monotonic()
        self._lost = False
        try:
            # The arrays are views over frames this client alone holds: writable, as
            # a local call's results are.
            return decode(frames, self.limits, writable=True)
        except WireError as exc:
            log.warning("client %s: a bad message from %s: %s", self.name, self.address, exc)
            return None

    def _ping(self, waiting: int | None) -> int:
        self._ping_seq += 1
        frames = encode_message(
            "ping",
            self.name,
            self._ping_seq,
            waiting,
            time.monotonic_ns(),
            time.time_ns(),
            (),
            self.limits,
        )
        self._send(frames)
        return self._ping_seq

    def _on_pong(self, message: Envelope) -> Pong:
        pong = Pong.parse(message.body)
        self.node_name = message.sender
        self.instance = pong.instance or self.instance
        self.service = pong.service or self.service
        self._busy = pong.busy
        if pong.echo is not None:
            t_mono, t1 = pong.echo
            elapsed = time.monotonic_ns() - t_mono
            if 0 <= elapsed < 60 * 10**9:  # an echo of one of this process's pings
                t2 = message.t_wall_ns
                self.clock.add(t1, t2, t2, t1 + elapsed)
        return pong

    # ------------------------------------------------------------ calls

    def call(self, method: str, *args: Any, timeout_s: float | None = None, **kwargs: Any) -> Any:
        """Call ``method`` of the node's component and return its result.

        Args:
            method: A method or property the node's service serves.
            *args: Its positional arguments (values the bus carries).
            timeout_s: A bound on this whole call; the client's ``timeout_s`` if ``None``.
            **kwargs: Its keyword arguments.

        Raises:
            NodeUnavailableError: No sign of life after the retries, the call
                outlasted its timeout, or a stateful node restarted mid-session.
            BrigadeError: What the component raised, as the same class.
            RemoteError: The component raised another kind of exception, or the
                node does not serve ``method``.
            WireError: The request or its result cannot travel on the bus.
        """
        with self._lock:
            return self._call(method, args, kwargs, timeout_s)

    def _request(
        self, seq: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[int, int]:
        """Send request ``seq``; returns when it was sent (monotonic and wall-clock ns)."""
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        body = (method, args, kwargs, self._session)
        frames = encode_message("request", self.name, seq, body, t_mono, t_wall, (), self.limits)
        try:
            if len(frames) == 1:  # (the usual request, sent without send_frames' loop)
                self._sock.send(frames[0], _NOBLOCK)
            else:
                send_frames(self._sock, frames, _NOBLOCK)
        except zmq.Again:  # no connection and the queue is full: the silence will tell
            log.debug("client %s: could not queue a request for %s", self.name, self.address)
        return t_mono, t_wall

    def _call(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout_s: float | None
    ) -> Any:
        if self._closed:
            raise NodeUnavailableError(f"the client of {self.address} is closed")
        self._seq += 1
        seq = self._seq
        request = self._request(seq, method, args, kwargs)
        self._counts["calls"] += 1
        start = time.monotonic()
        self._waiting_since = start
        limit = timeout_s if timeout_s is not None else self.timeout_s
        deadline = start + limit if limit is not None else math.inf
        heard, next_ping, attempts = start, start + self.heartbeat_s, 0
        # Only pongs to pings sent after the request (or its last re-send) speak of it.
        resent_at_ping = self._ping_seq
        try:
            while True:
                now = time.monotonic()
                until = min(next_ping, heard + self.liveness_s, deadline)
                reply = self._recv(until - now) if until > now else None
                if self._heard is not None and self._heard > heard:
                    heard = self._heard
                if reply is not None:
                    kind = reply.kind
                    if kind == "pong":
                        pong = self._on_pong(reply)
                        lost = pong.request == "missing" or pong.request == "answered"
                        if lost and reply.seq > resent_at_ping:
                            # The request or its reply was lost (a connection broke): send it
                            # again; the node runs it, or sends its reply again.
                            if attempts >= self.retries:
                                why = "never got" if pong.request == "missing" else "lost reply"
                                raise self._unavailable(method, start, attempts, why)
                            attempts += 1
                            self._counts["retries"] += 1
                            resent_at_ping = self._ping_seq
                            request = self._request(seq, method, args, kwargs)
                        continue
                    if reply.seq == seq and (kind == "reply" or kind == "error"):
                        return self._answer(reply, *request)
                    if reply.seq == 0 and kind == "error":  # our request could not be decoded
                        raise raise_remote(reply.sender, reply.body)
                    continue  # a late answer to an abandoned call
                now = time.monotonic()
                if now >= deadline:
                    raise self._unavailable(method, start, attempts, "timeout", limit)
                if now - heard >= self.liveness_s:
                    if attempts >= self.retries:
                        raise self._unavailable(method, start, attempts, "silent")
                    attempts += 1
                    self._counts["retries"] += 1
                    log.info(
                        "client %s: no sign of life from %s for %.2f s: reconnecting (%d/%d)",
                        self.name,
                        self.address,
                        now - heard,
                        attempts,
                        self.retries,
                    )
                    self._reconnect()
                    time.sleep(min(self.backoff_s * attempts, max(0.0, deadline - now)))
                    request = self._request(seq, method, args, kwargs)
                    heard = time.monotonic()
                    next_ping = heard + self.heartbeat_s
                    resent_at_ping = self._ping_seq
                elif now >= next_ping:
                    self._ping(seq)
                    next_ping = now + self.heartbeat_s
        finally:
            self._waiting_since = None

    def _answer(self, reply: Envelope, t_mono: int, t_wall: int) -> Any:
        t4 = t_wall + (time.monotonic_ns() - t_mono)
        self.node_name = reply.sender
        # The node's hop (instance, t_receive, t_reply), as node_hop() reads it, inline.
        hop = reply.trace[-1] if reply.trace else ()
        instance = None
        if len(hop) == 4 and type(hop[1]) is str and type(hop[2]) is int and type(hop[3]) is int:
            self.clock.add(t_wall, hop[2], hop[3], t4, call=True)
            instance = hop[1]
        if reply.kind == "error":
            raise raise_remote(reply.sender, reply.body)
        if instance is not None:
            self._session = self.instance = instance
        return reply.body

    def _unavailable(
        self, method: str, start: float, attempts: int, why: str, limit: float | None = None
    ) -> NodeUnavailableError:
        self._counts["failures"] += 1
        waited = time.monotonic() - start
        who = f"node {self.node_name!r} at {self.address}" if self.node_name else self.address
        if why == "timeout":
            busy = f"; it is alive, running {self._busy}()" if self._busy else ""
            text = f"{who} did not answer {method}() within timeout_s={limit} s{busy}"
        else:
            self._lost = True
            if why == "never got":
                reason = "never received the request (is it larger than the node's limits?)"
            elif why == "lost reply":
                reason = "answered, but its replies never arrived (are they too large?)"
            else:
                reason = f"gave no sign of life for {self.liveness_s} s"
            text = (
                f"{who} {reason} while {self.name} called {method}(); gave up after "
                f"{waited:.2f} s and {attempts} retries"
            )
            self._read_monitor()
            if self._handshake == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                text += (
                    "; the node refused this client's key (authentication failed: is its "
                    "public key in the node's authorized/ folder?)"
                )
            elif self._handshake is not None:
                text += (
                    "; the security handshake failed (CURVE on one end only, or the wrong "
                    "server key?)"
                )
        log.warning("client %s: %s", self.name, text)
        return NodeUnavailableError(text)

    def ping(self, timeout_s: float | None = None) -> float:
        """Ping the node and return the round trip in seconds (retrying like a call).

        Raises:
            NodeUnavailableError: No pong after the retries, or within ``timeout_s``.
        """
        with self._lock:
            if self._closed:
                raise NodeUnavailableError(f"the client of {self.address} is closed")
            start = time.monotonic()
            deadline = start + timeout_s if timeout_s is not None else math.inf
            attempts = 0
            while True:
                sent = time.monotonic()
                seq = self._ping(None)
                give_up = min(sent + self.liveness_s, deadline)
                while (now := time.monotonic()) < give_up:
                    reply = self._recv(give_up - now)
                    if reply is not None and reply.kind == "pong":
                        self._on_pong(reply)
                        if reply.seq == seq:
                            return time.monotonic() - sent
                if time.monotonic() >= deadline:
                    raise self._unavailable("ping", start, attempts, "timeout", timeout_s)
                if attempts >= self.retries:
                    raise self._unavailable("ping", start, attempts, "silent")
                attempts += 1
                self._counts["retries"] += 1
                self._reconnect()
                time.sleep(self.backoff_s * attempts)

    def new_session(self) -> None:
        """Forget the node instance of the session: the next call accepts any instance."""
        self._session = None

    def _keepalive(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if not self._lock.acquire(blocking=False):
                continue  # a call is running: it pings by itself
            try:
                if self._closed:
                    return
                while (reply := self._recv(0)) is not None:
                    if reply.kind == "pong":
                        self._on_pong(reply)
                self._ping(None)
            except zmq.ZMQError as exc:
                log.debug("client %s: keepalive: %s", self.name, exc)
            finally:
                self._lock.release()

    # ------------------------------------------------------------ health, closing

    def health(self) -> Health:
        """What this client knows of its node now (no message is sent; see :meth:`ping`)."""
        now = time.monotonic()
        seen = None if self._heard is None else now - self._heard
        waiting = self._waiting_since
        if self._lost:
            state = "lost"
        elif waiting is not None and now - max(waiting, self._heard or 0.0) > 2 * self.heartbeat_s:
            state = "late"
        elif self._heard is None:
            state = "unknown"
        else:
            state = "ok"
        delay = self.clock.delay_ns()
        offset = self.clock.offset_ns()
        return Health(
            node=self.node_name or "?",
            address=self.address,
            service=self.service,
            instance=self.instance,
            state=state,
            last_seen_s=seen,
            busy=self._busy,
            rtt_us=None if delay is None else delay / 1e3,
            offset_us=None if offset is None else offset / 1e3,
            hops=self.clock.hops(),
            calls=self._counts["calls"],
            retries=self._counts["retries"],
            failures=self._counts["failures"],
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Say goodbye to the node and close the socket (waits for a running call)."""
        self._stop.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._send(encode(Envelope.now("bye", self.name, 0), self.limits))
            # A brief linger lets the goodbye leave; close() itself never blocks.
            self._sock.setsockopt(zmq.LINGER, 100)
            self._read_monitor()
            with contextlib.suppress(zmq.ZMQError):
                self._sock.disable_monitor()
            self._monitor.close(linger=0)
            self._sock.close()
        if self._keeper is not None:
            self._keeper.join(1.0)

    def __repr__(self) -> str:
        return f"Client({self.address!r}, name={self.name!r})"

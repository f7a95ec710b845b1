"""What a node's two threads do (see :mod:`brigade.bus.node`).

- The serving thread holds the ROUTER (under a lock: one socket, one user at a
  time). It decodes every message, answers ``ping`` with ``pong``, keeps the
  at-most-once bookkeeping (:mod:`brigade.bus.peers`), refuses what does not
  decode, and runs each call itself, one at a time (components are not
  thread-safe), releasing the socket for the call. A short call thus costs no
  hand-off between threads, which is most of a small call's cost.
- The watch thread looks every few milliseconds whether a call has run for
  longer than :data:`GRACE_S`. Then it takes the free socket over and answers
  pings at once (saying which method runs), queues the requests that arrive,
  and notices lost clients, until the serving thread, woken through an inproc
  PUSH/PULL pair at the end of the call, wants the socket back.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import zmq

from brigade.bus.peers import Peers
from brigade.bus.protocol import (
    check_request,
    error_body,
    pong_body,
    recv_rest,
    reply_frames,
    send_frames,
)
from brigade.bus.services import Service
from brigade.bus.wire import Envelope, Limits, decode, encode_message
from brigade.errors import BrigadeError, WireError

__all__ = ["GRACE_S", "Serving"]

log = logging.getLogger("brigade.bus")

#: How long a call runs before the watch thread answers pings in its stead (s).
GRACE_S = 0.02
_WATCH_S = 0.02  # how often the watch thread looks (each look costs the serving thread a little)
# Plain ints: pyzmq's enum members cost a microsecond per socket call on the hot path.
_POLLIN = int(zmq.POLLIN)
_EVENTS = int(zmq.EVENTS)
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE = int(zmq.SNDMORE)

Job = tuple[bytes, Envelope, int]  # identity, request, receive time


def _text(identity: bytes) -> str:
    return identity.decode("utf-8", "backslashreplace")


class Serving:
    """The serving and watch threads' work; :class:`~brigade.bus.node.Node` sets it up."""

    name: str
    instance: str
    component: object
    service: Service
    heartbeat_s: float
    client_timeout_s: float
    limits: Limits
    _on_client_lost: Callable[[str], None] | None
    _router: zmq.Socket[Any]
    _ctl: zmq.Socket[Any]
    _wake_push: zmq.Socket[Any]
    _wake_pull: zmq.Socket[Any]

    def _init_serving(self) -> None:
        self._peers = Peers()
        # Requests the watch thread received during a call, and work for the serving
        # thread (lost-client callbacks): both run there, between calls.
        self._backlog: deque[Job] = deque()
        self._chores: deque[tuple[str, Callable[[], None]]] = deque()
        self._sock_lock = threading.Lock()  # whoever holds it uses the ROUTER
        self._stop = threading.Event()
        self._closed = False
        self._busy: str | None = None
        self._busy_since = 0.0
        self._owner: bytes | None = None  # the client whose session-start call succeeded last
        self._next_sweep = time.monotonic() + self.heartbeat_s
        self._last_refusal_log = 0.0
        names = "requests replies errors refused resent ignored pings takeovers lost"
        self._counts = dict.fromkeys(names.split(), 0)

    # ------------------------------------------------------------ the serving thread

    def _serve_main(self) -> None:
        self._sock_lock.acquire()
        try:  # (the serving thread holds the socket whenever _serve returns or raises)
            self._serve()
        except Exception:
            log.exception("node %s: the serving thread failed; the node stops serving", self.name)
        finally:
            self._sock_lock.release()

    def _serve(self) -> None:
        router, ctl = self._router, self._ctl
        poller = zmq.Poller()
        poller.register(router, _POLLIN)
        poller.register(ctl, _POLLIN)
        period_ms = max(1, int(self.heartbeat_s * 1000))
        while True:
            ready = poller.poll(period_ms)
            if self._closed:
                return
            for sock, _ in ready:
                if sock is ctl:
                    return
                self._handle(router, inline=True)
                if self._closed:
                    return
            while self._chores and not self._closed:
                self._chore(*self._chores.popleft())
                self._run_backlog(router)
            now = time.monotonic()
            if now >= self._next_sweep:
                self._sweep(now)

    def _handle(self, router: zmq.Socket[Any], *, inline: bool) -> None:
        """Handle the message waiting on the ROUTER (the caller holds the socket).

        One message per call, then the caller polls again: asking the socket
        whether more wait costs as much as the poll (which asks it anyway), and a
        request/reply client never has another message waiting.
        """
        # A ROUTER's message always has a frame after the identity. The header comes
        # as a zmq.Frame: it says whether arrays follow (asking the socket costs more).
        identity = router.recv(_NOBLOCK)
        head = router.recv(_NOBLOCK, copy=False)
        t_recv = time.time_ns()
        frames: list[Any] = [head.bytes]
        if head.more:
            recv_rest(router, frames, _NOBLOCK)
        try:
            # The arrays are views over frames the node alone holds: writable, so the
            # component gets what a local caller would give it.
            message = decode(frames, self.limits, writable=True)
        except WireError as exc:
            self._refuse(router, identity, exc)
            return
        kind = message.kind
        if kind == "request":
            counts = self._counts
            counts["requests"] += 1
            seq = message.seq
            what, cached = self._peers.request(identity, message.sender, seq, time.monotonic())
            if what == "run":
                job = (identity, message, t_recv)
                if inline:
                    self._run(router, job)
                    self._run_backlog(router)
                else:
                    self._backlog.append(job)
            elif cached is not None:
                counts["resent"] += 1
                send_frames(router, cached, 0, identity)
            else:
                counts["ignored"] += 1
                log.debug("node %s: ignored request %d of %s", self.name, seq, message.sender)
        elif kind == "ping":
            self._pong(router, identity, message)
        elif kind == "bye":
            if self._peers.leave(identity):
                log.debug("node %s: client %s left", self.name, _text(identity))
        else:
            self._refuse(router, identity, WireError(f"unexpected message kind {kind!r}"))

    def _run(self, router: zmq.Socket[Any], job: Job) -> None:
        """Run one request and send its reply (the serving thread, holding the socket).

        The node's hot path, in one function: the socket is lent to the watch thread
        during the call (see :meth:`_lend_socket`) inline, and the reply leaves
        before the at-most-once bookkeeping.
        """
        identity, request, t_recv = job
        service, name, counts = self.service, self.name, self._counts
        kind = "error"
        method: Any = None
        call = check_request(request.body, service, name, self.instance)
        if isinstance(call, dict):
            result: Any = call
            text = call["message"]
            log.warning("node %s: refused a request of %s: %s", name, _text(identity), text)
        else:
            method, args, kwargs = call
            lock = self._sock_lock
            self._busy_since = time.monotonic()
            self._busy = method
            lock.release()
            try:
                if method in service.properties:
                    if args or kwargs:
                        raise TypeError(f"{method} is a property: it takes no arguments")
                    result = getattr(self.component, method)
                else:
                    result = getattr(self.component, method)(*args, **kwargs)
                kind = "reply"
                if method in service.session_start:
                    self._owner = identity
            except Exception as exc:
                log.log(
                    logging.INFO if isinstance(exc, BrigadeError) else logging.ERROR,
                    "node %s: %s() raised %s: %s",
                    name,
                    method,
                    type(exc).__name__,
                    exc,
                    exc_info=True,
                )
                result = error_body(exc)
            finally:
                self._busy = None  # (what _take_socket does)
                if not lock.acquire(blocking=False):
                    self._wake_watcher()
                    lock.acquire()
        counts["replies"] += 1
        if kind == "error":
            counts["errors"] += 1
        instance, limits = self.instance, self.limits
        t_reply, t_mono = time.time_ns(), time.monotonic_ns()
        try:
            frames = reply_frames(
                kind, request, result, name, instance, t_recv, t_reply, t_mono, limits
            )
        except WireError as exc:
            log.error("node %s: the result of %s() cannot be sent: %s", name, method, exc)
            body = error_body(type(exc)(f"the result of {method}() cannot travel: {exc}"))
            frames = reply_frames(
                "error", request, body, name, instance, t_recv, t_reply, t_mono, limits
            )
        if not self._closed:
            if len(frames) == 1:  # (the usual reply, sent without send_frames' loop)
                router.send(identity, _SNDMORE)
                router.send(frames[0])
            else:
                send_frames(router, frames, 0, identity)
            # (After the send, off the reply's path: nothing else uses the socket or the
            # peers in between, so a re-sent request still finds the reply.)
            self._peers.answered(identity, request.seq, frames)

    def _run_backlog(self, router: zmq.Socket[Any]) -> None:
        """Run the requests that the watch thread received during a call."""
        while self._backlog and not self._closed:
            self._run(router, self._backlog.popleft())

    def _pong(self, router: zmq.Socket[Any], identity: bytes, ping: Envelope) -> None:
        self._counts["pings"] += 1
        request = self._peers.seen(identity, time.monotonic(), ping.body)
        busy = self._busy
        busy_s = time.monotonic() - self._busy_since if busy is not None else 0.0
        body = pong_body(self.instance, self.service.name, busy, busy_s, request, ping)
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        pong = encode_message("pong", self.name, ping.seq, body, t_mono, t_wall, (), self.limits)
        send_frames(router, pong, 0, identity)

    def _refuse(self, router: zmq.Socket[Any], identity: bytes, exc: WireError) -> None:
        self._counts["refused"] += 1
        now = time.monotonic()
        if now - self._last_refusal_log >= 1.0:  # a flood of garbage must not flood the log
            self._last_refusal_log = now
            log.warning("node %s: refused a message from %s: %s", self.name, _text(identity), exc)
        body = error_body(exc)
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        error = encode_message("error", self.name, 0, body, t_mono, t_wall, (), self.limits)
        send_frames(router, error, 0, identity)

    def _sweep(self, now: float) -> None:
        """Report and forget the clients silent for too long (the caller holds the socket)."""
        self._next_sweep = now + self.heartbeat_s
        for lost in self._peers.sweep(now, self.client_timeout_s):
            self._counts["lost"] += 1
            log.warning(
                "node %s: client %s (%s) silent for %.1f s: lost",
                self.name,
                lost.name,
                lost.text,
                lost.silent_s,
            )
            if self._on_client_lost is not None:
                callback = functools.partial(self._on_client_lost, lost.text)
                self._chores.append(("on_client_lost", callback))
            elif self.service.on_lost is not None and self._owner == lost.identity:
                self._chores.append((self.service.on_lost, self._stop_session))

    def _chore(self, label: str, chore: Callable[[], None]) -> None:
        """Run a lost-client callback like a call: between calls, lending the socket."""
        self._lend_socket(label)
        try:
            chore()
        except Exception:
            log.exception("node %s: the lost-client callback failed", self.name)
        finally:
            self._take_socket()

    def _lend_socket(self, doing: str) -> None:
        """Let the watch thread serve the socket if ``doing`` runs long."""
        self._busy_since = time.monotonic()
        self._busy = doing
        self._sock_lock.release()

    def _take_socket(self) -> None:
        """Take the socket back, asking the watch thread for it if it serves it."""
        self._busy = None
        if not self._sock_lock.acquire(blocking=False):
            self._wake_watcher()
            self._sock_lock.acquire()

    def _stop_session(self) -> None:
        method = self.service.on_lost
        self._owner = None
        if method is not None:
            log.warning("node %s: its session's client is lost: calling %s()", self.name, method)
            getattr(self.component, method)()

    def _wake_watcher(self) -> None:
        """Ask the watch thread to hand the socket back (it serves it during a long call)."""
        with contextlib.suppress(zmq.ZMQError):  # closed meanwhile: close() frees the lock
            self._wake_push.send(b"", _NOBLOCK)

    # ------------------------------------------------------------ the watch thread

    def _watch_main(self) -> None:
        try:
            self._watch()
        except Exception:
            log.exception("node %s: the watch thread failed", self.name)

    def _watch(self) -> None:
        lock, wake = self._sock_lock, self._wake_pull
        poller = zmq.Poller()
        poller.register(self._router, _POLLIN)
        poller.register(wake, _POLLIN)
        while not self._stop.wait(_WATCH_S):
            if self._busy is None or time.monotonic() - self._busy_since < GRACE_S:
                continue
            if not lock.acquire(timeout=_WATCH_S):
                continue
            try:
                while cast(int, wake.get(_EVENTS)) & _POLLIN:  # stale wake-ups
                    wake.recv(_NOBLOCK)
                if self._busy is None or self._closed:
                    continue
                self._counts["takeovers"] += 1
                self._serve_during_call(poller)
            finally:
                lock.release()

    def _serve_during_call(self, poller: zmq.Poller) -> None:
        """Serve the socket until the serving thread wants it back."""
        router, wake = self._router, self._wake_pull
        period_ms = max(1, int(_WATCH_S * 1000))
        while not self._stop.is_set():
            for sock, _ in poller.poll(period_ms):
                if sock is wake:
                    wake.recv(_NOBLOCK)
                    return
                self._handle(router, inline=False)
            if self._busy is None:
                return  # the call ended before its thread tried the lock
            now = time.monotonic()
            if now >= self._next_sweep:
                self._sweep(now)

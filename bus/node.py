"""Nodes: one component served on a ZeroMQ ROUTER socket.

:func:`serve` binds a ROUTER (through :func:`~brigade.bus.security.secure_bind`)
and serves it from two threads (:mod:`brigade.bus.serving`): a serving thread
that runs the calls one at a time, and a watch thread that answers pings while
a long call runs. The messages are those of :mod:`brigade.bus.protocol`. Each
request runs at most once, and a client silent for longer than
``client_timeout_s`` is reported lost and forgotten (:mod:`brigade.bus.peers`);
keep that longer than the clients' ``liveness_s * (retries + 1)``.
"""

from __future__ import annotations

import logging
import secrets
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import zmq

from brigade.bus.closing import Closing
from brigade.bus.security import SecurityConfig, secure_bind, stop_authenticator
from brigade.bus.services import Service, get_service, service_for
from brigade.bus.serving import GRACE_S, Serving
from brigade.bus.wire import DEFAULT_LIMITS, Limits, zmq_max_msg_size

__all__ = ["GRACE_S", "Node", "NodeStats", "serve"]

log = logging.getLogger("brigade.bus")


@dataclass(frozen=True)
class NodeStats:
    """Counters of a node since it started.

    Attributes:
        requests: Requests received (re-sent ones included).
        replies: Calls answered (``reply`` or ``error``).
        errors: Calls whose component raised, or that were refused.
        refused: Messages that could not be decoded (garbage, too large, wrong version).
        resent: Cached replies sent again for re-sent requests.
        ignored: Re-sent requests that were still running, or older than the last.
        pings: Pings answered.
        takeovers: Long calls during which the watch thread served the socket.
        clients: Clients tracked now.
        clients_lost: Clients reported lost.
    """

    requests: int
    replies: int
    errors: int
    refused: int
    resent: int
    ignored: int
    pings: int
    takeovers: int
    clients: int
    clients_lost: int


class Node(Serving, Closing):
    """A component served on the bus; build it with :func:`serve`.

    Attributes:
        name: The node's name (the ``sender`` of its messages).
        address: The bound endpoint, with its real port.
        instance: A random id of this node's start; a client tells a restart by it.
        service: What the node serves.
        component: The component served.
    """

    def __init__(
        self,
        component: object,
        *,
        name: str,
        address: str,
        security: SecurityConfig,
        service: Service,
        heartbeat_s: float,
        client_timeout_s: float,
        limits: Limits,
        context: zmq.Context[Any] | None,
        on_client_lost: Callable[[str], None] | None,
    ):
        if not isinstance(component, service.interface):
            raise TypeError(
                f"{type(component).__qualname__} is not a {service.interface.__qualname__}: "
                f"it cannot be served as {service.name!r}"
            )
        if heartbeat_s <= 0 or client_timeout_s <= 0:
            raise ValueError("heartbeat_s and client_timeout_s must be positive")
        self.name = name
        self.component = component
        self.service = service
        self.instance = secrets.token_hex(8)
        self.heartbeat_s = heartbeat_s
        self.client_timeout_s = client_timeout_s
        self.limits = limits
        self._on_client_lost = on_client_lost
        self._own_context = context is None
        self._context: zmq.Context[Any] = zmq.Context() if context is None else context
        self._init_serving()
        tag = f"inproc://brigade-node-{self.instance}"
        self._ctl_address = tag + "-ctl"
        self._sockets: list[zmq.Socket[Any]] = []
        try:
            self._router = self._socket(zmq.ROUTER)
            # A client that reconnects keeps its routing id: it takes the old one over.
            self._router.setsockopt(zmq.ROUTER_HANDOVER, 1)
            self.address = secure_bind(self._router, address, security)
            self._wake_pull = self._socket(zmq.PULL)  # the watch thread's
            self._wake_pull.bind(tag + "-wake")
            self._wake_push = self._socket(zmq.PUSH)  # the serving thread's
            self._wake_push.setsockopt(zmq.SNDHWM, 0)
            self._wake_push.connect(tag + "-wake")
            self._ctl = self._socket(zmq.PULL)  # the serving thread's
            self._ctl.bind(self._ctl_address)
        except BaseException:
            self._release()
            raise
        self._server = threading.Thread(target=self._serve_main, name=f"node-{name}", daemon=True)
        self._watcher = threading.Thread(
            target=self._watch_main, name=f"node-{name}-watch", daemon=True
        )
        self._server.start()
        self._watcher.start()
        log.info(
            "node %s serves %s (%s) on %s, instance %s",
            name,
            service.name,
            type(component).__qualname__,
            self.address,
            self.instance,
        )

    def _socket(self, kind: int) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self._context.socket(kind)
        self._sockets.append(sock)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, zmq_max_msg_size(self.limits))
        return sock

    # ------------------------------------------------------------ public

    def stats(self) -> NodeStats:
        """The node's counters now."""
        c = self._counts
        return NodeStats(
            c["requests"],
            c["replies"],
            c["errors"],
            c["refused"],
            c["resent"],
            c["ignored"],
            c["pings"],
            c["takeovers"],
            len(self._peers),
            c["lost"],
        )

    @property
    def busy(self) -> str | None:
        """The method running now, or ``None``."""
        return self._busy

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop serving, wait up to ``timeout_s`` for a running call, release the port.

        A call still running after ``timeout_s`` is left to finish in its daemon
        thread (its reply is discarded, and the context is left to it). Calling
        ``close`` again does nothing.
        """
        if self._closed or self._stop.is_set():
            return
        self._stop.set()
        stop: zmq.Socket[Any] = self._context.socket(zmq.PUSH)
        stop.setsockopt(zmq.LINGER, 1000)  # the message must reach the serving thread
        try:
            stop.connect(self._ctl_address)
            stop.send(b"stop", zmq.NOBLOCK)
        finally:
            stop.close()
        self._watcher.join(timeout_s)
        self._server.join(timeout_s)
        stuck = self._server.is_alive()
        with self._sock_lock:  # (never held long once the watch thread stopped)
            self._closed = True  # the serving thread never touches a socket again
            if stuck:
                log.warning(
                    "node %s closed while %s() still runs; it finishes in the background",
                    self.name,
                    self._busy,
                )
                for sock in (self._router, self._ctl, self._wake_pull):
                    sock.close(linger=0)
            else:
                self._release()
        log.info("node %s closed", self.name)

    def _release(self) -> None:
        for sock in self._sockets:
            sock.close(linger=0)
        if self._own_context:
            stop_authenticator(self._context)  # (before term: its sockets would block it)
            self._context.term()

    def run_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until SIGINT or SIGTERM (or until the node fails), then close cleanly.

        For node processes: call it from the main thread.

        Args:
            on_ready: Called once the signal handlers are in place: announce
                readiness there (a launcher may then stop the node at any time).
        """
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("node %s: %s received, closing", self.name, signal.Signals(signum).name)
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if on_ready is not None:
                on_ready()
            while not stop.wait(0.2) and self._server.is_alive():
                pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.service.name}, {self.address}, instance={self.instance})"


def serve(
    component: object,
    *,
    name: str,
    address: str = "tcp://127.0.0.1:0",
    security: SecurityConfig | None = None,
    service: Service | str | None = None,
    heartbeat_s: float = 0.25,
    client_timeout_s: float = 10.0,
    limits: Limits = DEFAULT_LIMITS,
    context: zmq.Context[Any] | None = None,
    on_client_lost: Callable[[str], None] | None = None,
) -> Node:
    """Serve ``component`` on the bus, in background threads.

    Args:
        component: The component (an environment, a critic, a policy...).
        name: The node's name in messages and logs.
        address: The endpoint to bind; port 0 takes a free port (read it back
            from ``node.address``). A non-loopback address needs CURVE keys.
        security: Keys and the authorized clients; ``None``: plain, loopback only.
        service: What to serve: a :class:`~brigade.bus.services.Service`, the name
            of a registered one, or ``None`` to find it from the component's interface.
        heartbeat_s: How often the node looks for lost clients.
        client_timeout_s: A client silent for longer is reported lost.
        limits: Bounds on messages, both ways; ``zmq.MAXMSGSIZE`` follows them.
        context: A ZeroMQ context to use (not terminated on close); by default
            the node has its own, whose ZAP handler it stops before terminating it.
        on_client_lost: Called with a lost client's identity, on the worker thread
            between calls (so it may use the component). By default a service's
            ``on_lost`` method (an arm's ``disconnect``) runs when the client
            that started the current session is lost.

    Returns:
        The running node; close it (or use it as a context manager).

    Raises:
        SecurityError: The address needs keys that are not configured.
        RegistryError: No service fits the component.
        zmq.ZMQError: The address cannot be bound (in use, malformed).
    """
    if service is None:
        found = service_for(component)
    elif isinstance(service, str):
        found = get_service(service)
    else:
        found = service
    return Node(
        component,
        name=name,
        address=address,
        security=security if security is not None else SecurityConfig(),
        service=found,
        heartbeat_s=heartbeat_s,
        client_timeout_s=client_timeout_s,
        limits=limits,
        context=context,
        on_client_lost=on_client_lost,
    )

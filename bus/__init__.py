"""The bus: ZeroMQ wire format, nodes, remote proxies and security.

Serve a component on one host, use it from another through a proxy that
implements the same interface::

    from brigade.bus import RemoteEnv, serve

    node = serve(env, name="env")  # tcp://127.0.0.1:<free port>
    remote = RemoteEnv(node.address)  # a TaskEnv: calling code does not change

- :mod:`~brigade.bus.wire`, :mod:`~brigade.bus.codec`: the message format.
- :mod:`~brigade.bus.node` (:func:`serve`), :mod:`~brigade.bus.client`
  (:class:`Client`), :mod:`~brigade.bus.proxies` (``Remote*``): request/reply
  with heartbeats, bounded retries and at-most-once calls
  (:mod:`~brigade.bus.protocol`, :mod:`~brigade.bus.peers`,
  :mod:`~brigade.bus.serving`).
- :mod:`~brigade.bus.services`: what a node lets its clients call.
- :mod:`~brigade.bus.clock`: clock offsets and per-hop latency.
- :mod:`~brigade.bus.telemetry`: PUB/SUB, latest value first.
- :mod:`~brigade.bus.security`: CURVE keys and ZAP authentication.
"""

from brigade.bus.client import Client, Health
from brigade.bus.clock import ClockEstimator, Hops
from brigade.bus.node import Node, NodeStats, serve
from brigade.bus.proxies import (
    RemoteArm,
    RemoteComponent,
    RemoteCritic,
    RemoteEnv,
    RemotePolicy,
    RemoteProgressModel,
)
from brigade.bus.security import SecurityConfig
from brigade.bus.services import (
    Service,
    get_service,
    register_service,
    service_for,
    services,
    unregister_service,
)
from brigade.bus.telemetry import Publisher, Sample, Subscriber
from brigade.bus.wire import DEFAULT_LIMITS, SCHEMA_VERSION, Envelope, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "SCHEMA_VERSION",
    "Client",
    "ClockEstimator",
    "Envelope",
    "Health",
    "Hops",
    "Limits",
    "Node",
    "NodeStats",
    "Publisher",
    "RemoteArm",
    "RemoteComponent",
    "RemoteCritic",
    "RemoteEnv",
    "RemotePolicy",
    "RemoteProgressModel",
    "Sample",
    "SecurityConfig",
    "Service",
    "Subscriber",
    "get_service",
    "register_service",
    "serve",
    "service_for",
    "services",
    "unregister_service",
]

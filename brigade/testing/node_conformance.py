"""Conformance checks for components served on the bus.

Run :func:`check_node` over any component (brigade's own and third parties'):
it serves the component on loopback, calls it through a
:class:`~brigade.bus.client.Client` and compares every answer with the same
call on a second, local component. Each failure says what the bus promises
and how to fix the component.

Example::

    from brigade.testing.node_conformance import Call, check_node

    check_node(lambda: MyCritic(), calls=[Call("score_joint", (state, plans))])
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brigade.bus.client import Client
from brigade.bus.node import serve
from brigade.bus.services import Service, get_service, service_for
from brigade.errors import BrigadeError, RemoteError, WireError

__all__ = ["DEFAULT_CALLS", "Call", "check_node", "same"]


@dataclass(frozen=True)
class Call:
    """One call to make on the served component and on the local one.

    Attributes:
        method: A method or property of the service.
        args: Positional arguments.
        kwargs: Keyword arguments.
    """

    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


#: The calls made when none are given, per service: what needs no arguments.
DEFAULT_CALLS: dict[str, tuple[Call, ...]] = {
    "env": tuple(
        Call(m)
        for m in (
            *("agents", "env_id", "describe", "features", "agent_snippets", "metadata"),
            *("step_count", "step_limit", "progress", "snapshot", "render"),
        )
    ),
    "critic": (Call("kind"), Call("describe")),
    "policy": (Call("describe"),),
    "progress": (Call("describe"),),
    "arm": (
        Call("name"),
        Call("observation_features"),
        Call("action_features"),
        Call("is_connected"),
        Call("connect"),
        Call("get_observation"),
        Call("disconnect"),
    ),
}
_SESSION_SETUP: dict[str, tuple[Call, ...]] = {
    "env": (Call("reset", (0,)),),
    "policy": (Call("reset", (0,)),),
}


def same(a: Any, b: Any) -> bool:
    """Whether two values are equal as the bus promises: arrays bit for bit, same types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return bool(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    equal: bool = a == b
    return equal


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def _local(component: object, service: Service, call: Call) -> tuple[Any, BaseException | None]:
    try:
        value = getattr(component, call.method)
        if call.method in service.methods:
            value = value(*call.args, **call.kwargs)
        return value, None
    except Exception as exc:
        return None, exc


def check_service(component: object, service: Service) -> None:
    """The component implements every name its service serves."""
    if not isinstance(component, service.interface):
        raise _fail(
            f"{type(component).__qualname__} must subclass {service.interface.__qualname__} "
            f"to be served as {service.name!r}"
        )
    for name in sorted(service.names):
        # Look on the class first: reading a property may need a session (a host's
        # environment) that no call has started yet.
        if not hasattr(type(component), name) and not hasattr(component, name):
            raise _fail(f"the {service.name!r} service serves {name!r}: implement it")


def check_calls(client: Client, local: object, service: Service, calls: Sequence[Call]) -> None:
    """Each call gives through the bus what it gives locally, or raises the same class."""
    for call in calls:
        expected, error = _local(local, service, call)
        try:
            got = client.call(call.method, *call.args, **call.kwargs)
        except WireError as exc:
            raise _fail(
                f"{call.method}() cannot travel on the bus ({exc}): return frozen dataclasses "
                "registered with register_wire_type, numpy arrays and plain values"
            ) from exc
        except BrigadeError as exc:
            if error is None or type(exc) is not type(error):
                raise _fail(
                    f"{call.method}() raised {type(exc).__name__} through the bus but "
                    f"{type(error).__name__ if error else 'nothing'} locally"
                ) from exc
            continue
        if error is not None:
            raise _fail(f"{call.method}() raised {error!r} locally but not through the bus")
        if not same(got, expected):
            raise _fail(
                f"{call.method}() gave {got!r} through the bus but {expected!r} locally: "
                "results must depend only on the calls made (no hidden randomness or clocks)"
            )


def check_refusals(client: Client) -> None:
    """Private, dunder and unknown names are refused, and the node keeps serving."""
    for name in ("__class__", "__dict__", "_private", "not_a_method"):
        try:
            client.call(name)
        except RemoteError:
            continue
        raise _fail(f"the node let a client call {name!r}: serve only the service's names")
    client.ping()


def check_ping_while_busy(client: Client, watcher: Client, call: Call, busy_s: float) -> None:
    """While a call runs (for ``busy_s`` or more), the node answers pings within 0.2 s."""
    thread = threading.Thread(target=lambda: client.call(call.method, *call.args, **call.kwargs))
    thread.start()
    try:
        time.sleep(min(busy_s / 2, 0.5))
        rtt = watcher.ping()
        if rtt > 0.2:
            raise _fail(f"a ping took {rtt:.2f} s while {call.method}() ran")
    finally:
        thread.join(busy_s + 30)


def check_node(
    factory: Callable[[], object],
    *,
    service: Service | str | None = None,
    calls: Sequence[Call] | None = None,
    slow_call: Call | None = None,
    slow_s: float = 1.0,
) -> None:
    """Run every node conformance check on components from ``factory``.

    Args:
        factory: Makes a fresh component (called twice: one served, one local).
        service: The service to serve it as; found from its interface by default.
        calls: The calls to compare (made in order, on both components);
            :data:`DEFAULT_CALLS` of the service by default, after a session
            start (``reset(0)``) for environments and policies.
        slow_call: A call that runs for about ``slow_s`` seconds or more, to check
            that pings are answered meanwhile; skipped if ``None``.
        slow_s: How long ``slow_call`` runs.
    """
    served, local = factory(), factory()
    found = service_for(served) if service is None else service
    found = get_service(found) if isinstance(found, str) else found
    check_service(served, found)
    if calls is None:
        calls = _SESSION_SETUP.get(found.name, ()) + DEFAULT_CALLS.get(found.name, ())
    options: dict[str, Any] = {"liveness_s": 2.0, "heartbeat_s": 0.05, "retries": 1}
    with (
        serve(served, name="conformance", service=found, heartbeat_s=0.05) as node,
        Client(node.address, name="conformance", **options) as client,
    ):
        client.ping()
        health = client.health()
        if health.service != found.name or health.instance != node.instance:
            raise _fail(f"the node's pong names {health.service!r}, not {found.name!r}")
        check_calls(client, local, found, calls)
        check_refusals(client)
        if slow_call is not None:
            with Client(node.address, name="watcher", **options) as watcher:
                check_ping_while_busy(client, watcher, slow_call, slow_s)

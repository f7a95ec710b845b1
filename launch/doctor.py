"""``brigade doctor``: check a launch file's addresses, ports, keys and clocks, and say what to fix.

Each check gives a :class:`Finding` (``ok``, ``warn`` or ``fail``) with what
was found and, when it is not ok, what to do. Checks that need the nodes
(reachability, clock offsets) run on the nodes that are up (``brigade up``)
and on the nodes of other hosts.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from brigade.bus.security import list_keys, load_keypair
from brigade.errors import BrigadeError
from brigade.launch.graph import LaunchSpec, load_launch, parse_endpoint
from brigade.launch.supervisor import live_nodes, read_state

__all__ = ["CLOCK_WARN_MS", "Finding", "diagnose"]

#: A clock offset above this between this machine and a node is worth fixing.
CLOCK_WARN_MS = 50.0


@dataclass(frozen=True)
class Finding:
    """One check's result.

    Attributes:
        status: ``ok``, ``warn`` or ``fail``.
        subject: What was checked (``nodes.env.address``, ``clock of critic``).
        detail: What was found.
        fix: What to do about it (empty when ok).
    """

    status: str
    subject: str
    detail: str
    fix: str = ""


def _bindable(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound here, or ``None`` when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"{host!r} does not resolve ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine"
            return f"cannot bind {host}:{port} ({exc.strerror})"
    return None


def _addresses(spec: LaunchSpec) -> Iterator[Finding]:
    state = read_state(spec.name) or {}
    ours = {
        parse_endpoint(str(n.get("address")))
        for n in state.get("nodes", {}).values()
        if isinstance(n, dict) and n.get("address")
    }
    for name, node in spec.nodes.items():
        subject = f"nodes.{name}.address"
        host, port = parse_endpoint(node.address)
        if not spec.is_local(name):
            try:
                socket.getaddrinfo(host, port or None)
            except socket.gaierror as exc:
                yield Finding(
                    "fail",
                    subject,
                    f"{host!r} (on {node.host}) does not resolve here: {exc.strerror}",
                    "fix the name, or use the host's IP address",
                )
                continue
            yield Finding("ok", subject, f"{node.address} on {node.host} (started there)")
            continue
        if (host, port) in ours:
            yield Finding("ok", subject, f"{node.address}: held by this graph's live node")
            continue
        why = _bindable(host, port)
        if why is None:
            free = " (a free port when it starts)" if port == 0 else ""
            yield Finding("ok", subject, f"{node.address} can be bound{free}")
        else:
            yield Finding(
                "fail",
                subject,
                why,
                "pick another port, or port 0 for a free one; `ss -ltnp` shows who holds it",
            )


def _keys(spec: LaunchSpec) -> Iterator[Finding]:
    store = Path(spec.keys_dir).expanduser() if spec.keys_dir else None
    needed = {n.keys for n in spec.nodes.values() if n.keys}
    if spec.client_keys:
        needed.add(spec.client_keys)
    if not needed:
        yield Finding("ok", "keys", "every node is on the loopback: no CURVE keys needed")
        return
    for name in sorted(needed):
        try:
            load_keypair(name, store)
        except BrigadeError as exc:
            yield Finding("fail", f"key pair {name}", str(exc), f"brigade keys create {name}")
        else:
            yield Finding("ok", f"key pair {name}", "found, secret readable by its owner only")
    authorized = {k.name for k in list_keys(store) if k.authorized}
    # Who calls whom: this machine's clients call every node; the planner node
    # calls the environment and critic nodes.
    callers = {spec.client_keys} if spec.client_keys else set()
    planner_keys = {spec.nodes[n].keys for n in spec.of_component("planner") if spec.nodes[n].keys}
    for name, node in spec.nodes.items():
        if not node.keys:
            continue
        clients = set(callers)
        if node.component in ("env", "critic"):
            clients |= planner_keys
        for client in sorted(clients - authorized):
            yield Finding(
                "fail",
                f"nodes.{name}.keys",
                f"node {name} admits only authorized keys, and {client!r} is not among them",
                f"brigade keys authorize {client}.key (on {node.host})",
            )
        if not spec.client_keys:
            yield Finding(
                "warn",
                "client_keys",
                f"node {name} requires CURVE, but the launch names no client_keys for the "
                "clients of this machine",
                "brigade keys create NAME, then client_keys: NAME",
            )


def _clocks(spec: LaunchSpec) -> Iterator[Finding]:
    live = live_nodes(spec)
    if live is None:
        yield Finding(
            "warn",
            "nodes",
            f"{spec.name} is not up: reachability and clocks were not checked",
            f"brigade up {spec.source}, then brigade doctor again",
        )
        return
    for name, node in live.items():
        try:
            with spec.client(name, node.address, caller="brigade-doctor") as client:
                for _ in range(8):  # a few exchanges steady the offset estimate
                    client.ping(2.0)
                health = client.health()
        except BrigadeError as exc:
            yield Finding("fail", f"node {name}", f"no answer from {node.address}: {exc}")
            continue
        offset_ms = (health.offset_us or 0.0) / 1e3
        rtt = f"round trip {health.rtt_us or 0:.0f} us"
        if abs(offset_ms) > CLOCK_WARN_MS:
            yield Finding(
                "warn",
                f"clock of {name}",
                f"{offset_ms:+.1f} ms from this machine's ({rtt})",
                "synchronize the hosts' clocks (chrony or systemd-timesyncd); wall-clock "
                "timestamps in records are off by that much",
            )
        else:
            yield Finding("ok", f"clock of {name}", f"{offset_ms:+.2f} ms ({rtt})")


def diagnose(path: str, overrides: list[str] | tuple[str, ...] = ()) -> list[Finding]:
    """Every finding for the launch file at ``path`` (a bad file is one ``fail``)."""
    try:
        spec = load_launch(path, overrides)
    except BrigadeError as exc:
        return [Finding("fail", "launch file", str(exc), "fix the entry named")]
    findings = [
        Finding("ok", "launch file", f"{spec.source}: {len(spec.nodes)} nodes, valid options")
    ]
    for check in (_addresses, _keys, _clocks):
        findings.extend(check(spec))
    return findings

"""Launch files: which nodes make up a graph, what each serves, and where.

A launch file is YAML (``configs/launch/local-kitchen.yaml`` is the example)::

    name: local-kitchen
    nodes:
      env:     {component: env,     address: "tcp://127.0.0.1:0"}
      critic:  {component: critic,  address: "tcp://127.0.0.1:0"}
      planner: {component: planner, address: "tcp://127.0.0.1:0"}
    run:       # settings of `brigade run --bus` (the command line overrides them)
      env: kitchen/cramped_room
      planner: read-j

Port ``0`` (or ``*``) takes a free port when the node starts; ``brigade up``
records the real addresses for ``brigade ps`` and ``brigade run --bus``. A
node whose ``host`` is ``localhost`` (or this machine's name) is started here;
others are started on their hosts (``brigade up FILE --only NAME`` there) and
are only reached here, at fixed addresses, with CURVE keys.

The components a node can serve are registered in :data:`NODE_COMPONENTS`
(``env``, ``critic``, ``planner``; plug-ins add theirs through the
``brigade.nodes`` entry-point group), each with a config dataclass that
checks its ``options``.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brigade.bus.client import Client
from brigade.bus.security import SecurityConfig, is_loopback
from brigade.config import load_config, preset_path
from brigade.errors import ConfigError, SecurityError, did_you_mean
from brigade.registry import Registry

__all__ = [
    "NODE_COMPONENTS",
    "LaunchSpec",
    "NodeSpec",
    "is_local_host",
    "load_launch",
    "state_root",
]

#: What a node can serve: name -> (config dataclass, factory(config, *, security)).
NODE_COMPONENTS: Registry[object] = Registry(
    "node component", "brigade.nodes", builtins=("brigade.launch.components",)
)

_ENDPOINT = re.compile(r"^(tcp)://(?P<host>\[[^\]]+\]|[^:/\[\]]+):(?P<port>\d+|\*)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,39}$")


@dataclass
class NodeSpec:
    """One node of a launch file.

    Attributes:
        component: What it serves (a name of :data:`NODE_COMPONENTS`).
        address: The endpoint it binds, ``tcp://HOST:PORT``; port 0 or ``*``
            takes a free port (local nodes only: others need a fixed one).
        host: Where it runs: ``localhost`` (the default) or this machine's name
            means here; any other host is reached, not started, from here.
        keys: Its CURVE key pair's name in the launch's key store; required for
            an address off the loopback (``brigade keys create NAME``).
        options: The component's settings (see ``brigade doctor`` for the valid ones).
        heartbeat_s: How often the node looks for lost clients.
        client_timeout_s: A client silent for longer is reported lost.
    """

    component: str = ""
    address: str = "tcp://127.0.0.1:0"
    host: str = "localhost"
    keys: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    heartbeat_s: float = 0.25
    client_timeout_s: float = 10.0


@dataclass
class LaunchSpec:
    """A launch file (see the module docstring).

    Attributes:
        name: The graph's name (its live state is kept under it).
        description: One line for listings.
        keys_dir: The CURVE key store (default: brigade's, ``brigade keys list``).
        client_keys: The key pair this machine's clients (``brigade run --bus``,
            ``brigade ps``) use with nodes off the loopback.
        nodes: The nodes by name.
        run: Settings of ``brigade run --bus`` (``RunConfig`` fields).
        source: The file it was read from (set when loaded).
    """

    name: str = ""
    description: str = ""
    keys_dir: str = ""
    client_keys: str = ""
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first bad entry (``load_launch`` calls it)."""
        if not _NAME.fullmatch(self.name or ""):
            raise ConfigError(
                "must be a name of letters, digits, '-' and '_' (at most 40)", key="name"
            )
        if not self.nodes:
            raise ConfigError("a launch file names at least one node", key="nodes")
        known = NODE_COMPONENTS.names()
        bound: dict[str, str] = {}
        for name, node in self.nodes.items():
            where = f"nodes.{name}"
            if not _NAME.fullmatch(name):
                raise ConfigError("node names are letters, digits, '-' and '_'", key=where)
            if node.component not in known:
                raise ConfigError(
                    f"unknown component {node.component!r}{did_you_mean(node.component, known)}; "
                    f"components: {', '.join(known)}",
                    key=f"{where}.component",
                )
            try:
                host, port = parse_endpoint(node.address)
            except ValueError as exc:
                raise ConfigError(str(exc), key=f"{where}.address") from None
            if port == 0 and not self.is_local(name):
                raise ConfigError(
                    f"a node on another host ({node.host}) needs a fixed port: its clients here "
                    "cannot learn a free one",
                    key=f"{where}.address",
                )
            if port != 0:
                key = f"{host}:{port}"
                if key in bound:
                    raise ConfigError(
                        f"{key} is also the address of node {bound[key]!r}",
                        key=f"{where}.address",
                    )
                bound[key] = name
            try:
                loopback = is_loopback(node.address)
            except SecurityError as exc:
                raise ConfigError(str(exc), key=f"{where}.address") from None
            if not loopback and not node.keys:
                raise ConfigError(
                    f"{node.address} leaves this host: name the node's CURVE key pair "
                    f"(`brigade keys create {name}`, then keys: {name})",
                    key=f"{where}.keys",
                )
            self.component_config(name)  # checks the options
            if node.heartbeat_s <= 0 or node.client_timeout_s <= node.heartbeat_s:
                raise ConfigError(
                    "heartbeat_s must be positive and below client_timeout_s",
                    key=f"{where}.heartbeat_s",
                )

    def is_local(self, name: str) -> bool:
        """Whether node ``name`` runs on this machine (so ``brigade up`` starts it here)."""
        return is_local_host(self.nodes[name].host)

    def component_config(self, name: str) -> Any:
        """Node ``name``'s component config, from its ``options``.

        Raises:
            ConfigError: An unknown or bad option, named ``nodes.NAME.options.KEY``.
        """
        node = self.nodes[name]
        entry = NODE_COMPONENTS.get(node.component)
        try:
            return load_config(entry.config, values=dict(node.options))
        except ConfigError as exc:
            key = f"nodes.{name}.options" + (f".{exc.key}" if exc.key else "")
            raise ConfigError(exc.message, key=key, source=self.source or None) from None

    def of_component(self, component: str) -> list[str]:
        """The names of the nodes serving ``component``."""
        return [n for n, spec in self.nodes.items() if spec.component == component]

    def role(self, component: str, *, required: bool = True) -> str | None:
        """The one node serving ``component`` (for ``brigade run --bus``).

        Raises:
            ConfigError: None (when required) or several serve it.
        """
        found = self.of_component(component)
        if len(found) > 1:
            raise ConfigError(
                f"several nodes serve {component} ({', '.join(found)}); a run uses one",
                key="nodes",
            )
        if not found:
            if required:
                raise ConfigError(f"no node serves {component}: add one", key="nodes")
            return None
        return found[0]

    def security(self, keys: str) -> SecurityConfig | None:
        """The security config of key pair ``keys`` in this launch's store (``None``: no keys).

        Raises:
            SecurityError: The key pair cannot be loaded.
        """
        if not keys:
            return None
        return SecurityConfig.load(keys, keys_dir=self.keys_dir or None)

    def client(self, name: str, address: str, *, caller: str, timeout_s: float = 1.0) -> Client:
        """A client of node ``name`` at ``address`` for this machine's tools (no retries).

        Args:
            name: The node.
            address: Where it is (its real address when it took a free port).
            caller: The client's name in the node's logs (``brigade-ps``...).
            timeout_s: Silence after which the node is presumed gone.
        """
        return Client(
            address,
            name=caller,
            security=self.security(self.client_keys),
            server_key=self.server_key(name) or None,
            liveness_s=timeout_s,
            retries=0,
        )

    def server_key(self, name: str) -> str:
        """What a client passes as node ``name``'s public key (its key pair's name, or empty)."""
        return self.nodes[name].keys


def load_launch(
    path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()
) -> LaunchSpec:
    """Read and check a launch file (a path or a shipped name such as ``launch/local-kitchen``).

    Args:
        path: The file.
        overrides: Dotted overrides (``nodes.env.address=tcp://127.0.0.1:7000``).

    Raises:
        ConfigError: The file is missing or malformed, or an entry is bad; the
            error names the key and the file.
    """
    source = str(preset_path(str(path)))
    spec = load_config(LaunchSpec, preset=source, overrides=list(overrides))
    spec.source = source
    if not spec.name:
        spec.name = Path(source).stem
    try:
        spec.check()
    except ConfigError as exc:
        raise ConfigError(exc.message, key=exc.key, source=source) from None
    return spec


def parse_endpoint(address: str) -> tuple[str, int]:
    """The host (without brackets) and port of ``tcp://HOST:PORT``; port 0 for a free one.

    Raises:
        ValueError: ``address`` is not such an endpoint.
    """
    match = _ENDPOINT.fullmatch(address)
    if match is None:
        raise ValueError(
            f"{address!r} is not an endpoint tcp://HOST:PORT (port 0 or * for a free one)"
        )
    port = match["port"]
    return match["host"].strip("[]"), 0 if port == "*" else int(port)


def is_local_host(host: str) -> bool:
    """Whether ``host`` names this machine."""
    if host in ("localhost", "127.0.0.1", "::1", ""):
        return True
    names = {socket.gethostname(), socket.getfqdn()}
    return host in names


def state_root() -> Path:
    """Where live graphs are recorded: ``$BRIGADE_STATE_DIR``, else ``~/.local/state/brigade``."""
    explicit = os.environ.get("BRIGADE_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "brigade"

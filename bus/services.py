"""Services: what a node lets its clients call, and how calls, results and errors cross.

A :class:`Service` names an interface and the public methods and properties of
it that a node serves. A node never looks up an arbitrary attribute a peer
names: only the names of its service are callable, and a service refuses
private and dunder names when it is defined. The registry below maps a name
(``env``, ``critic``...) to its service, so later interfaces (the planner) add
their own with :func:`register_service`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from brigade.arm import Arm
from brigade.critic import AdvantageCritic
from brigade.errors import RegistryError, did_you_mean
from brigade.policy import Policy
from brigade.progress import ProgressModel
from brigade.task_env import TaskEnv

__all__ = [
    "Service",
    "get_service",
    "register_service",
    "service_for",
    "services",
    "unregister_service",
]


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@dataclass(frozen=True)
class Service:
    """What a node serves of one interface.

    Attributes:
        name: The service's name (``env``, ``critic``...), sent in every pong.
        interface: The class a served component must be an instance of.
        methods: The public methods clients may call.
        properties: Public properties and plain attributes clients may read
            (called with no arguments).
        read_only: The names (of either kind) that never change the component.
        cacheable: The names whose value never changes for one component, so a
            proxy may keep the first answer (``agents``, an arm's features).
        stateful: Whether the component keeps a session state that a restarted
            node has lost (an environment, an arm, a policy with history). A
            client then refuses to continue a session on a restarted node.
        session_start: The methods that start a session, and so may be called
            on a restarted node (``reset``, ``restore``, ``connect``).
        on_lost: A method the node calls when the client that started the
            current session is lost (an arm's ``disconnect``: stop the motors
            when the commands stop), unless ``serve`` is given ``on_client_lost``.
    """

    name: str
    interface: type
    methods: frozenset[str]
    properties: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()
    cacheable: frozenset[str] = frozenset()
    stateful: bool = False
    session_start: frozenset[str] = frozenset()
    on_lost: str | None = None

    def __post_init__(self) -> None:
        for label in ("methods", "properties", "read_only", "cacheable", "session_start"):
            value = getattr(self, label)
            if not isinstance(value, frozenset):
                object.__setattr__(self, label, frozenset(value))
        callable_names = self.methods | self.properties
        for n in callable_names:
            if not n.isidentifier() or n.startswith("_"):
                raise ValueError(
                    f"service {self.name!r}: {n!r} cannot be served (public names only: "
                    "private and dunder names would open the component to its peers)"
                )
        if self.methods & self.properties:
            raise ValueError(
                f"service {self.name!r}: {sorted(self.methods & self.properties)} are listed "
                "as both methods and properties"
            )
        for label in ("read_only", "cacheable", "session_start"):
            extra = getattr(self, label) - callable_names
            if extra:
                raise ValueError(f"service {self.name!r}: {label} names unknown {sorted(extra)}")
        if self.session_start - self.methods:
            raise ValueError(f"service {self.name!r}: session_start must name methods")
        if self.on_lost is not None and self.on_lost not in self.methods:
            raise ValueError(f"service {self.name!r}: on_lost must name one of its methods")

    @property
    def names(self) -> frozenset[str]:
        """Every name a client may call."""
        return self.methods | self.properties

    def refusal(self, name: object) -> str | None:
        """Why ``name`` may not be called, or ``None`` when it may."""
        if type(name) is str and (name in self.methods or name in self.properties):
            return None
        shown = repr(name) if type(name) is str and len(name) <= 64 else f"a {type(name).__name__}"
        hint = did_you_mean(name, self.names) if type(name) is str else ""
        return (
            f"{shown} is not served by this {self.name!r} node{hint}; it serves "
            f"{', '.join(sorted(self.names))}"
        )


_lock = threading.Lock()
_SERVICES: dict[str, Service] = {}


def register_service(service: Service, *, replace: bool = False) -> Service:
    """Add a service to the registry (later ones are tried first by :func:`service_for`).

    Raises:
        RegistryError: The name is taken and ``replace`` is false.
    """
    with _lock:
        if service.name in _SERVICES and not replace:
            raise RegistryError(f"a bus service named {service.name!r} is already registered")
        _SERVICES.pop(service.name, None)
        _SERVICES[service.name] = service
    return service


def unregister_service(name: str) -> Service:
    """Remove a service from the registry and return it.

    Raises:
        RegistryError: No service has that name.
    """
    found = get_service(name)
    with _lock:
        _SERVICES.pop(name, None)
    return found


def get_service(name: str) -> Service:
    """The registered service called ``name``.

    Raises:
        RegistryError: No service has that name.
    """
    with _lock:
        found = _SERVICES.get(name)
        known = list(_SERVICES)
    if found is None:
        raise RegistryError(
            f"no bus service named {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}"
        )
    return found


def services() -> dict[str, Service]:
    """The registered services by name."""
    with _lock:
        return dict(_SERVICES)


def service_for(component: object) -> Service:
    """The service of the interface ``component`` implements (the latest registered first).

    Raises:
        RegistryError: The component implements none of the registered interfaces.
    """
    with _lock:
        candidates = list(reversed(_SERVICES.values()))
    for service in candidates:
        if isinstance(component, service.interface):
            return service
    raise RegistryError(
        f"{type(component).__qualname__} implements no bus service's interface "
        f"({', '.join(s.interface.__name__ for s in candidates)}): give serve() a service"
    )


register_service(
    Service(
        "critic",
        AdvantageCritic,
        methods=_names(["score_sequential", "score_joint", "describe"]),
        properties=_names(["kind"]),
        read_only=_names(["describe", "kind"]),
        cacheable=_names(["kind"]),
    )
)
register_service(
    Service(
        "progress",
        ProgressModel,
        methods=_names(["compare", "describe"]),
        read_only=_names(["describe"]),
    )
)
register_service(
    Service(
        "policy",
        Policy,
        methods=_names(["reset", "act", "describe"]),
        read_only=_names(["describe"]),
        stateful=True,
        session_start=_names(["reset"]),
    )
)
_ENV_READ = ["describe", "legal_actions", "features", "agent_snippets", "verify", "progress"]
register_service(
    Service(
        "env",
        TaskEnv,
        methods=_names(
            [*_ENV_READ, "reset", "execute", "snapshot", "restore", "render", "metadata"]
        ),
        properties=_names(["agents", "step_count", "step_limit", "env_id"]),
        read_only=_names(
            [
                *_ENV_READ,
                "snapshot",
                "render",
                "metadata",
                "agents",
                "step_count",
                "step_limit",
                "env_id",
            ]
        ),
        cacheable=_names(["agents", "env_id"]),
        stateful=True,
        session_start=_names(["reset", "restore"]),
    )
)
register_service(
    Service(
        "arm",
        Arm,
        methods=_names(["connect", "disconnect", "get_observation", "send_action"]),
        properties=_names(["is_connected", "observation_features", "action_features", "name"]),
        read_only=_names(
            ["get_observation", "is_connected", "observation_features", "action_features", "name"]
        ),
        cacheable=_names(["observation_features", "action_features", "name"]),
        stateful=True,
        session_start=_names(["connect"]),
        on_lost="disconnect",
    )
)

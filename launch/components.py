"""The components a launch file's nodes can serve: ``env``, ``critic`` and ``planner``.

Each registers in :data:`~brigade.launch.graph.NODE_COMPONENTS` with a config
dataclass (a node's ``options``) and a factory ``(config, *, security) ->
component``; ``security`` is the node's own keys, which a node that is also a
client (the planner, of the environment and the critic) uses for its calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brigade.bus.security import SecurityConfig
from brigade.launch.graph import NODE_COMPONENTS
from brigade.planners.hosts import CriticHost, EnvHost
from brigade.planners.remote import PlannerHost


@dataclass
class EnvNodeConfig:
    """Options of an environment node.

    Attributes:
        task: Task options every environment of the node gets (a run's own
            ``task`` options come on top, with each episode).
    """

    task: dict[str, Any] = field(default_factory=dict)


@dataclass
class CriticNodeConfig:
    """Options of a critic node (it serves the critic each episode names; none to set)."""


@dataclass
class PlannerNodeConfig:
    """Options of a planner node.

    Attributes:
        liveness_s: Silence after which the environment or critic node is presumed gone.
        retries: Reconnects before a call to them gives up.
    """

    liveness_s: float = 1.0
    retries: int = 2

    def validate(self) -> None:
        """Refuse a non-positive liveness or negative retries."""
        from brigade.errors import ConfigError

        if self.liveness_s <= 0:
            raise ConfigError("must be positive", key="liveness_s")
        if self.retries < 0:
            raise ConfigError("must not be negative", key="retries")


@NODE_COMPONENTS.register("env", config=EnvNodeConfig)
def env_node(config: EnvNodeConfig, *, security: SecurityConfig | None = None) -> EnvHost:
    """An environment node: builds each episode's environment (``EnvHost``)."""
    return EnvHost(config.task)


@NODE_COMPONENTS.register("critic", config=CriticNodeConfig)
def critic_node(config: CriticNodeConfig, *, security: SecurityConfig | None = None) -> CriticHost:
    """A critic node: serves each episode's critic (``CriticHost``)."""
    return CriticHost()


@NODE_COMPONENTS.register("planner", config=PlannerNodeConfig)
def planner_node(
    config: PlannerNodeConfig, *, security: SecurityConfig | None = None
) -> PlannerHost:
    """A planner node: planners, their chat backend and its cache (``PlannerHost``)."""
    return PlannerHost(security=security, liveness_s=config.liveness_s, retries=config.retries)

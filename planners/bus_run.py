"""The runner's side of a run on the bus: its environment, planner and critic are nodes.

:class:`BusEpisodes` holds the runner's clients of the environment node (an
:class:`~brigade.planners.hosts.EnvHost`) and the planner node (a
:class:`~brigade.planners.remote.PlannerHost`), starts the run on the planner
node, and builds each episode's parts: the environment built and reset on its
node, a :class:`~brigade.planners.remote.RemotePlanner`, and a
:class:`~brigade.planners.remote.RelayedChat` that gathers the node's
transcript and counters. The runner then plays the episode exactly as in one
process.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from brigade.agents.ledger import Ledger
from brigade.bus.client import Client
from brigade.bus.proxies import RemoteEnv
from brigade.bus.security import SecurityConfig
from brigade.planners.hosts import refuse_oracle
from brigade.planners.remote import BackendSettings, NodeRef, RelayedChat, RemotePlanner

__all__ = ["BusEpisodes", "EpisodeNodes", "NodeBackend"]


@dataclass(frozen=True)
class EpisodeNodes:
    """The nodes a run on the bus plays its episodes with.

    Attributes:
        planner: The planner node.
        env: The environment node.
        critic: The critic node (``None`` when no planner of the run needs one).
        security: The runner's own keys for its clients (``None``: loopback only).
        liveness_s: Silence after which a node is presumed gone.
        retries: Reconnects before a call gives up.
    """

    planner: NodeRef
    env: NodeRef
    critic: NodeRef | None = None
    security: SecurityConfig | None = None
    liveness_s: float = 1.0
    retries: int = 2


class NodeBackend:
    """What the runner records of the planner node's chat backend (its model, its description)."""

    def __init__(self, model: str, described: dict[str, Any]):
        self.model = model
        self._described = dict(described)

    def describe(self) -> dict[str, Any]:
        """The backend's description, as the planner node gave it."""
        return dict(self._described)

    def close(self) -> None:
        """Nothing to close here: the backend lives on the planner node."""


class BusEpisodes:
    """The runner's clients of a run's nodes (see the module docstring).

    Args:
        nodes: Where the nodes are.
        settings: The run's chat settings, for the planner node.
        run: The run's id.
        needs_llm: Whether a planner of the run talks to an LLM.
        critic: The run's critic spec (``oracle`` cannot run on a node).
    """

    def __init__(
        self,
        nodes: EpisodeNodes,
        settings: BackendSettings,
        *,
        run: str,
        needs_llm: bool,
        critic: str,
    ):
        refuse_oracle(critic)
        self.nodes = nodes
        self.critic_spec = critic
        self.env_client = self._client(nodes.env, "runner-env")
        self.planner_client = self._client(nodes.planner, "runner-planner")
        try:
            backend = self.planner_client.call(
                "start",
                dataclasses.asdict(settings),
                dataclasses.asdict(nodes.env),
                dataclasses.asdict(nodes.critic) if nodes.critic is not None else None,
                run,
                needs_llm,
            )
        except BaseException:
            self.close()
            raise
        self.backend = (
            NodeBackend(str(backend["model"]), backend["describe"])
            if backend["model"] is not None
            else None
        )

    def _client(self, ref: NodeRef, name: str) -> Client:
        nodes = self.nodes
        return ref.client(
            name, security=nodes.security, liveness_s=nodes.liveness_s, retries=nodes.retries
        )

    def environment(self, env_id: str, options: dict[str, Any], seed: int) -> RemoteEnv:
        """Build and reset the episode's environment on its node."""
        self.env_client.call("make", env_id, options)
        env = RemoteEnv(self.env_client)
        env.reset(seed)
        return env

    def planner(
        self, name: str, options: dict[str, Any], episode: str, ledger: Ledger
    ) -> tuple[RemotePlanner, RelayedChat]:
        """The episode's remote planner and the chat that gathers its node's records."""
        planner = RemotePlanner(
            self.planner_client, name, options=options, episode=episode, critic=self.critic_spec
        )
        return planner, RelayedChat(ledger)

    def score(self) -> float:
        """The current episode's score, from the environment node."""
        return float(self.env_client.call("score"))

    def close(self) -> None:
        """Close the runner's clients (the nodes keep running)."""
        for client in (getattr(self, "env_client", None), getattr(self, "planner_client", None)):
            if client is not None:
                client.close()

"""Remote proxies: brigade's interfaces implemented over the bus.

Each proxy implements an interface (:class:`~brigade.task_env.TaskEnv`,
:class:`~brigade.critic.AdvantageCritic`, :class:`~brigade.policy.Policy`,
:class:`~brigade.progress.ProgressModel`, :class:`~brigade.arm.Arm`) by calling
a node that serves a real one, so calling code does not change: results are
equal to the local component's (arrays bit for bit), brigade's errors arrive as
the same classes, and a lost node raises
:class:`~brigade.errors.NodeUnavailableError` (an ``InfrastructureError``: a run
ends cleanly with what it recorded).

A proxy builds its :class:`~brigade.bus.client.Client` from an address and the
client's options, or takes one. Values that never change for one component
(an environment's agents, an arm's features) are kept after the first call.
Proxies are context managers; ``close()`` closes a client the proxy built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.arm import Arm, ArmData, Feature
from brigade.bus.client import Client, Health
from brigade.bus.closing import Closing
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.plan import JointPlan, Outcome
from brigade.policy import ActionChunk, Observation, Policy
from brigade.progress import ProgressEstimate, ProgressModel
from brigade.task_env import TaskEnv

__all__ = [
    "RemoteArm",
    "RemoteComponent",
    "RemoteCritic",
    "RemoteEnv",
    "RemotePolicy",
    "RemoteProgressModel",
]


def _seq(values: Sequence[Any]) -> Sequence[Any]:
    """Lists and tuples travel as they are; other sequences as tuples."""
    return values if type(values) in (list, tuple) else tuple(values)


class RemoteComponent(Closing):
    """The part every proxy shares: its client, the cache, closing.

    Subclass it (with the interface) to proxy a new component; set
    ``_default_name`` to name the clients it builds.
    """

    _default_name = "client"

    def __init__(self, target: str | Client, **options: Any):
        if isinstance(target, Client):
            if options:
                raise TypeError("give either a Client or an address with client options")
            self.client, self._owns_client = target, False
        else:
            options.setdefault("name", self._default_name)
            self.client, self._owns_client = Client(target, **options), True
        self._cache: dict[str, Any] = {}

    def _cached(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            value = self._cache[name] = self.client.call(name)
            return value

    def health(self) -> Health:
        """The client's view of the node (latency, clock offset, state)."""
        return self.client.health()

    def close(self) -> None:
        """Close the client, if this proxy built it."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client.address!r})"


def _remote_text(attribute: str, doc: str) -> Any:
    """A text attribute of the interface read from the node once, then kept.

    The interfaces declare it as a plain class attribute (``AdvantageCritic.kind``,
    ``Arm.name``), so the property also takes assignments, into the same cache.
    """

    def get(self: RemoteComponent) -> str:
        return str(self._cached(attribute))

    def put(self: RemoteComponent, value: str) -> None:
        self._cache[attribute] = value

    return property(get, put, doc=doc)


class RemoteEnv(RemoteComponent, TaskEnv):
    """A :class:`~brigade.task_env.TaskEnv` served by a node.

    ``step_count`` is mirrored locally (zero after ``reset``, one more per
    ``execute``, read back after ``restore``), so a runner can still record the
    steps taken after the node was lost.
    """

    _default_name = "env-client"

    def __init__(self, target: str | Client, **options: Any):
        super().__init__(target, **options)
        self._steps: int | None = None
        self._env_id: str | None = None

    @property
    def env_id(self) -> str:
        """The environment id, as the node's environment reports it."""
        if self._env_id is None:
            self._env_id = str(self._cached("env_id"))
        return self._env_id

    @env_id.setter
    def env_id(self, value: str) -> None:
        self._env_id = value

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents' names, in planning order (kept after the first call)."""
        return tuple(self._cached("agents"))

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (a new session: a restarted node is accepted)."""
        self.client.call("reset", seed)
        self._steps = 0
        self._cache.pop("step_limit", None)

    def describe(self, agent: str | None = None) -> str:
        """Text observation: the whole state, or what ``agent`` sees."""
        return str(self.client.call("describe", agent))

    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` can take now."""
        return list(self.client.call("legal_actions", agent))

    def features(self) -> np.ndarray:
        """The critic's input vector."""
        result: np.ndarray = self.client.call("features")
        return result

    def agent_snippets(self) -> dict[str, str]:
        """A short text of each agent's own state."""
        return dict(self.client.call("agent_snippets"))

    def verify(self, plan: JointPlan) -> list[str]:
        """Why ``plan`` is infeasible, in words; empty if it is fine."""
        return list(self.client.call("verify", plan))

    def execute(self, plan: JointPlan) -> Outcome:
        """Execute a joint plan: one environment step."""
        outcome: Outcome = self.client.call("execute", plan)
        if self._steps is not None:
            self._steps += 1
        return outcome

    def progress(self) -> float:
        """Ground-truth task progress in [0, 1]."""
        return float(self.client.call("progress"))

    def snapshot(self) -> bytes:
        """The full state as bytes."""
        return bytes(self.client.call("snapshot"))

    def restore(self, snapshot: bytes) -> None:
        """Return to a captured state (a new session: a restarted node is accepted)."""
        self.client.call("restore", snapshot)
        self._steps = int(self.client.call("step_count"))
        self._cache.pop("step_limit", None)

    def render(self) -> np.ndarray:
        """An RGB picture of the current state."""
        result: np.ndarray = self.client.call("render")
        return result

    @property
    def step_count(self) -> int:
        """Environment steps executed in this episode (mirrored locally)."""
        if self._steps is None:
            self._steps = int(self.client.call("step_count"))
        return self._steps

    @property
    def step_limit(self) -> int | None:
        """The episode's step limit, or ``None`` (kept for the episode)."""
        limit = self._cached("step_limit")
        return None if limit is None else int(limit)

    def metadata(self) -> dict[str, Any]:
        """Settings that define the task."""
        return dict(self.client.call("metadata"))


class RemoteCritic(RemoteComponent, AdvantageCritic):
    """An :class:`~brigade.critic.AdvantageCritic` served by a node."""

    _default_name = "critic-client"

    kind = _remote_text("kind", "The remote critic's kind (kept after the first call).")

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """Advantages of ``candidates`` after the agents of ``before``."""
        scores: Scores = self.client.call("score_sequential", state, _seq(before), _seq(candidates))
        return scores

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """Advantages of whole joint plans."""
        scores: Scores = self.client.call("score_joint", state, _seq(plans))
        return scores

    def describe(self) -> dict[str, Any]:
        """What identifies the remote critic in records."""
        return dict(self.client.call("describe"))


class RemotePolicy(RemoteComponent, Policy):
    """A :class:`~brigade.policy.Policy` served by a node (``reset`` starts a session)."""

    _default_name = "policy-client"

    def reset(self, seed: int | None = None) -> None:
        """Forget the previous episode."""
        self.client.call("reset", seed)

    def act(self, observation: Observation) -> ActionChunk:
        """The actions to play from ``observation`` on."""
        chunk: ActionChunk = self.client.call("act", _mapping(observation))
        return chunk

    def describe(self) -> dict[str, Any]:
        """What the remote policy is."""
        return dict(self.client.call("describe"))


class RemoteProgressModel(RemoteComponent, ProgressModel):
    """A :class:`~brigade.progress.ProgressModel` served by a node."""

    _default_name = "progress-client"

    def compare(
        self, observation_a: Observation, observation_b: Observation, goal: str
    ) -> ProgressEstimate:
        """How much ``observation_b`` moved towards ``goal`` from ``observation_a``."""
        estimate: ProgressEstimate = self.client.call(
            "compare", _mapping(observation_a), _mapping(observation_b), goal
        )
        return estimate

    def describe(self) -> dict[str, Any]:
        """What the remote model is."""
        return dict(self.client.call("describe"))


class RemoteArm(RemoteComponent, Arm):
    """An :class:`~brigade.arm.Arm` served by a node.

    ``connect`` starts a session. Its node calls the arm's ``disconnect`` when
    this client falls silent for the node's ``client_timeout_s`` (a watchdog): pass
    ``keepalive=True`` to keep an idle session, or keep commanding. As a context
    manager it connects, then disconnects and closes its client.
    """

    _default_name = "arm-client"

    name = _remote_text("name", "The arm's name on its cell (kept after the first call).")

    def connect(self) -> None:
        """Connect the remote arm."""
        self.client.call("connect")

    def disconnect(self) -> None:
        """Stop the remote arm safely and disconnect it."""
        self.client.call("disconnect")

    @property
    def is_connected(self) -> bool:
        """Whether the remote arm is connected."""
        return bool(self.client.call("is_connected"))

    @property
    def observation_features(self) -> dict[str, Feature]:
        """The entries of :meth:`get_observation` (kept after the first call)."""
        return dict(self._cached("observation_features"))

    @property
    def action_features(self) -> dict[str, Feature]:
        """The entries :meth:`send_action` takes (kept after the first call)."""
        return dict(self._cached("action_features"))

    def get_observation(self) -> dict[str, Any]:
        """The current observation."""
        return dict(self.client.call("get_observation"))

    def send_action(self, action: ArmData) -> dict[str, Any]:
        """Command ``action``; returns what was really sent after safety clipping."""
        return dict(self.client.call("send_action", _mapping(action)))

    # Arm's context (connect, then disconnect), not Closing's; the client closes after.
    def __enter__(self) -> RemoteArm:
        Arm.__enter__(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            Arm.__exit__(self, exc_type, exc, tb)
        finally:
            self.close()


def _mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    return values if type(values) is dict else dict(values)

"""What the environment and critic nodes of an episode graph serve.

A run on the bus (``brigade run --bus``) plays episodes of many environments
and critics through long-lived nodes, so a node cannot hold one fixed
component: it holds a *host* that builds the component each episode asks for.

- :class:`EnvHost` is a :class:`~brigade.task_env.TaskEnv` that forwards to the
  environment built by its last :meth:`~EnvHost.make` (``envs.make_task`` with
  the run's task options), and adds what the runner reads besides the
  interface: the score and, for the expert ceiling only, the expert's plan.
- :class:`CriticHost` is an :class:`~brigade.critic.AdvantageCritic` that forwards
  to the critic chosen by its last :meth:`~CriticHost.use` (``build_critic``:
  a checkpoint, the one shipped for the task, or a control). The oracle reads
  the environment's ground truth, which lives on another node: it is refused.

Both register a bus service (``env-host``, ``critic-host``) whose session
starts with ``make``/``use``, so a restarted node is noticed by its clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brigade import envs
from brigade.action import Action
from brigade.bus.services import Service, get_service, register_service
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.critics.registry import build_critic
from brigade.errors import ConfigError, InputError
from brigade.plan import JointPlan, Outcome
from brigade.task_env import TaskEnv

__all__ = ["CRITIC_HOST", "ENV_HOST", "CriticHost", "EnvHost", "refuse_oracle"]


class EnvHost(TaskEnv):
    """A :class:`TaskEnv` node that builds the environment each episode names.

    Args:
        task: Task options every environment gets (a run's ``task``), before
            the options of :meth:`make`.
    """

    def __init__(self, task: dict[str, Any] | None = None):
        self.task = dict(task or {})
        self._env: TaskEnv | None = None

    @property
    def env(self) -> TaskEnv:
        """The environment of the current episode.

        Raises:
            InputError: :meth:`make` was not called yet.
        """
        if self._env is None:
            raise InputError("this environment node has no environment yet: call make() first")
        return self._env

    def make(self, env_id: str, options: dict[str, Any] | None = None) -> str:
        """Build the environment of the next episode; returns its full id.

        Args:
            env_id: A registered id (``kitchen/cramped_room``).
            options: Task options, over the host's (``record_frames``, ``cell_px``...).

        Raises:
            RegistryError: The id is not registered.
            ConfigError: An option the task does not take.
        """
        env = envs.make_task(env_id, **{**self.task, **(options or {})})
        self._env = env
        return env.env_id

    # The TaskEnv interface, forwarded.

    @property
    def env_id(self) -> str:  # type: ignore[override]
        """The current environment's id (empty before :meth:`make`)."""
        return self._env.env_id if self._env is not None else ""

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents of the current environment."""
        return self.env.agents

    def reset(self, seed: int | None = None) -> None:
        """Start an episode of the current environment."""
        self.env.reset(seed)

    def describe(self, agent: str | None = None) -> str:
        """Text observation."""
        return self.env.describe(agent)

    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` can take now."""
        return self.env.legal_actions(agent)

    def features(self) -> np.ndarray:
        """The critic's input vector."""
        return self.env.features()

    def agent_snippets(self) -> dict[str, str]:
        """A short text of each agent's own state."""
        return self.env.agent_snippets()

    def verify(self, plan: JointPlan) -> list[str]:
        """Why ``plan`` is infeasible; empty if it is fine."""
        return self.env.verify(plan)

    def execute(self, plan: JointPlan) -> Outcome:
        """One environment step."""
        return self.env.execute(plan)

    def progress(self) -> float:
        """Ground-truth task progress."""
        return self.env.progress()

    def snapshot(self) -> bytes:
        """The full state as bytes."""
        return self.env.snapshot()

    def restore(self, snapshot: bytes) -> None:
        """Return to a captured state."""
        self.env.restore(snapshot)

    def render(self) -> np.ndarray:
        """An RGB picture of the current state."""
        return self.env.render()

    @property
    def step_count(self) -> int:
        """Steps executed in this episode."""
        return self.env.step_count

    @property
    def step_limit(self) -> int | None:
        """The episode's step limit."""
        return self.env.step_limit

    def metadata(self) -> dict[str, Any]:
        """The current task's settings."""
        return self.env.metadata()

    # What the runner reads besides the interface.

    @property
    def score(self) -> float:
        """The current episode's score (0 for tasks without one)."""
        return float(getattr(self.env, "score", 0.0))

    @property
    def has_expert(self) -> bool:
        """Whether the current environment has a scripted expert."""
        return callable(getattr(self.env, "expert_plan", None))

    def expert_plan(self) -> JointPlan:
        """The scripted expert's plan now (for the expert ceiling only).

        Raises:
            ConfigError: The environment has no expert.
        """
        expert = getattr(self.env, "expert_plan", None)
        if not callable(expert):
            raise ConfigError(f"{self.env.env_id} has no scripted expert", key="planner")
        plan: JointPlan = expert()
        return plan


def refuse_oracle(spec: str) -> None:
    """Refuse the oracle critic on the bus.

    Raises:
        ConfigError: ``spec`` is ``oracle``: it rolls out the environment's ground
            truth, which lives on the environment node.
    """
    if spec == "oracle":
        raise ConfigError(
            "the oracle critic rolls out the environment's ground truth, which lives on "
            "the environment node: run it in one process (without --bus)",
            key="critic",
        )


class CriticHost(AdvantageCritic):
    """An :class:`AdvantageCritic` node that serves the critic each episode names."""

    def __init__(self) -> None:
        self._critic: AdvantageCritic | None = None

    @property
    def critic(self) -> AdvantageCritic:
        """The critic of the current episode.

        Raises:
            InputError: :meth:`use` was not called yet.
        """
        if self._critic is None:
            raise InputError("this critic node serves no critic yet: call use() first")
        return self._critic

    def use(self, spec: str, env_id: str, seed: int = 0) -> dict[str, Any]:
        """Serve the critic ``spec`` for an episode of ``env_id``; returns its description.

        Args:
            spec: A checkpoint folder (on this node's host), ``random``,
                ``constant``, or ``""`` for the one shipped for the task.
            env_id: The task.
            seed: The episode's seed (the random control's draws).

        Raises:
            ConfigError: ``oracle`` (it needs the environment), or no such critic.
        """
        refuse_oracle(spec)
        full = envs.spec(env_id).id
        self._critic = build_critic(spec, full, seed=seed)
        return self._critic.describe()

    @property
    def kind(self) -> str:  # type: ignore[override]
        """The current critic's kind."""
        return self.critic.kind

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """The current critic's sequential advantages."""
        return self.critic.score_sequential(state, before, candidates)

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """The current critic's joint advantages."""
        return self.critic.score_joint(state, plans)

    def describe(self) -> dict[str, Any]:
        """The current critic's description."""
        return self.critic.describe()


_ENV = get_service("env")
ENV_HOST = register_service(
    Service(
        "env-host",
        EnvHost,
        methods=_ENV.methods | {"make", "expert_plan"},
        properties=_ENV.properties | {"score", "has_expert"},
        read_only=_ENV.read_only | {"score", "has_expert", "expert_plan"},
        # An episode's environment changes with make(): nothing is kept by proxies.
        cacheable=frozenset(),
        stateful=True,
        session_start=_ENV.session_start | {"make"},
    )
)
_CRITIC = get_service("critic")
CRITIC_HOST = register_service(
    Service(
        "critic-host",
        CriticHost,
        methods=_CRITIC.methods | {"use"},
        properties=_CRITIC.properties,
        read_only=_CRITIC.read_only,
        cacheable=frozenset(),
        stateful=True,
        session_start=frozenset({"use"}),
    )
)

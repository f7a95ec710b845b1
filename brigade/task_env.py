"""The skill-level environment interface and the read-only view planners get.

Both simulators (the kitchen, the manipulation table) and physical robot cells
implement :class:`TaskEnv`. Planners never hold a ``TaskEnv``: they get a
:class:`PlannerView`, which exposes only what a planner may legitimately use
(agents, text descriptions, legal actions, verification, critic features).
Ground truth (``progress``), state capture (``snapshot``/``restore``) and
experts belong to the runner, to data collection and to evaluation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, final

import numpy as np

from brigade.action import Action
from brigade.plan import JointPlan, Outcome


class TaskEnv(ABC):
    """A multi-agent task driven by high-level actions (one joint plan per step).

    One call to :meth:`execute` is one environment step (ES), however many
    low-level moves it takes. A plan that :meth:`verify` rejects costs no step.
    """

    #: The environment id this instance was made from (set by the registry).
    env_id: str = ""

    @property
    @abstractmethod
    def agents(self) -> tuple[str, ...]:
        """The agents' names, in planning order."""

    @abstractmethod
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; the same seed gives the same episode."""

    @abstractmethod
    def describe(self, agent: str | None = None) -> str:
        """Text observation: the whole state, or what ``agent`` sees."""

    @abstractmethod
    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` can feasibly take now (WAIT included)."""

    @abstractmethod
    def features(self) -> np.ndarray:
        """A fixed-size float32 vector of the state, the critic's input."""

    def agent_snippets(self) -> dict[str, str]:
        """A short text of each agent's own state (a critic's per-agent input).

        Short on purpose (a sentence each): critics encode one snippet per agent
        with text encoders that truncate long inputs. The default names the agent
        only; environments say where each agent is and what it holds.
        """
        return {agent: agent for agent in self.agents}

    @abstractmethod
    def verify(self, plan: JointPlan) -> list[str]:
        """Say in words why ``plan`` is infeasible; an empty list if it is fine.

        Verification never changes the state and costs no environment step.
        """

    @abstractmethod
    def execute(self, plan: JointPlan) -> Outcome:
        """Execute a joint plan: one environment step."""

    @abstractmethod
    def progress(self) -> float:
        """Ground-truth task progress in [0, 1] (for evaluation and data only)."""

    @abstractmethod
    def snapshot(self) -> bytes:
        """Capture the full state (including the step count) as bytes."""

    @abstractmethod
    def restore(self, snapshot: bytes) -> None:
        """Return to a state captured by :meth:`snapshot`."""

    @abstractmethod
    def render(self) -> np.ndarray:
        """An RGB picture of the current state, shape (H, W, 3) uint8."""

    @property
    def step_count(self) -> int:
        """Environment steps executed in this episode."""
        return 0

    @property
    def step_limit(self) -> int | None:
        """The episode's step limit, or ``None`` when unlimited."""
        return None

    def metadata(self) -> dict[str, Any]:
        """Settings that define the task (recorded in every run's manifest)."""
        return {"env_id": self.env_id}

    @final
    def planner_view(self) -> PlannerView:
        """Return the read-only view of this environment that planners get."""
        return PlannerView(self)


@final
class PlannerView:
    """A read-only view of a :class:`TaskEnv`: what a planner may see and ask.

    It deliberately has no ``progress``, ``snapshot``, ``restore``, ``execute``
    or expert: a planner cannot peek at the ground truth or rewind the world.
    """

    __slots__ = ("_env",)
    _env: TaskEnv

    def __init__(self, env: TaskEnv):
        object.__setattr__(self, "_env", env)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a PlannerView is read-only")

    @property
    def env_id(self) -> str:
        """The environment id."""
        return self._env.env_id

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents' names, in planning order."""
        return self._env.agents

    @property
    def step_count(self) -> int:
        """Environment steps executed so far in this episode."""
        return self._env.step_count

    @property
    def step_limit(self) -> int | None:
        """The episode's step limit, or ``None``."""
        return self._env.step_limit

    def describe(self, agent: str | None = None) -> str:
        """Text observation: the whole state, or what ``agent`` sees."""
        return self._env.describe(agent)

    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` can feasibly take now."""
        return self._env.legal_actions(agent)

    def verify(self, plan: JointPlan) -> list[str]:
        """Why ``plan`` is infeasible, in words; empty if it is fine."""
        return self._env.verify(plan)

    def features(self) -> np.ndarray:
        """The critic's input vector for the current state (a copy)."""
        return np.array(self._env.features(), copy=True)

    def agent_snippets(self) -> dict[str, str]:
        """A short text of each agent's own state."""
        return dict(self._env.agent_snippets())

    def __repr__(self) -> str:
        return f"PlannerView({self._env.env_id or type(self._env).__name__})"


def wait_plan(agents: Sequence[str]) -> JointPlan:
    """A joint plan in which every agent WAITs."""
    return JointPlan(tuple(Action(agent, "WAIT") for agent in agents))
